-- Views run with their owner's rights unless told otherwise, and the owner is not subject to
-- row-level security: granted to the responder, app.group_roles, app.effective_roles,
-- app.role_assignments_explained and app.users_per_department would show it every tenant's rows.
-- As security_invoker views (PostgreSQL 15) they read the tables with the reader's rights, so the
-- tenant policies apply through them. The DBA views over the log and errors are the owner's.
alter view app.group_roles set (security_invoker = true);
alter view app.effective_roles set (security_invoker = true);
alter view app.role_assignments_explained set (security_invoker = true);
alter view app.users_per_department set (security_invoker = true);
alter view scim.recent_failures set (security_invoker = true);
alter view scim.open_errors set (security_invoker = true);
