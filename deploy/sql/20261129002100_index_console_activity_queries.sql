-- Indexes the admin console's log and status queries need to stay fast on a tenant with a
-- million log rows: failed requests (the Errors and Logs pages' "4xx/5xx" filter), writes (the
-- SCIM page's "last successful change") and the subject a request was about (the Logs page's
-- search, by user or group name prefix). Both partial indexes hold a small share of the rows;
-- the subject index is one more b-tree entry per logged request.
create index if not exists provisioning_log_tenant_failures_idx
    on scim.provisioning_log (tenant_id, logged_at desc) where status >= 400;
create index if not exists provisioning_log_tenant_writes_idx
    on scim.provisioning_log (tenant_id, logged_at desc) where method <> 'GET';
create index if not exists provisioning_log_tenant_subject_idx
    on scim.provisioning_log (tenant_id, lower(subject) text_pattern_ops, logged_at desc);
