-- How SCIM data becomes the application directory, per tenant: column mappings (SCIM attribute ->
-- user field), department mappings (incoming department -> department) and group-role mappings
-- (group -> role). Every change is recorded in scim.mapping_changes and bumps
-- scim.tenants.mapping_version, which tells the responders to read the mappings again.
alter table scim.tenants add column if not exists mapping_version bigint not null default 0;
alter table scim.tenants add column if not exists unmapped_department text not null default 'record_error';
do $$
begin
    if not exists (select 1 from pg_constraint where conname = 'tenants_unmapped_department_check') then
        alter table scim.tenants add constraint tenants_unmapped_department_check
            check (unmapped_department in ('record_error', 'create'));
    end if;
end $$;
comment on column scim.tenants.mapping_version is 'Incremented by every mapping change; responders cache mappings per version.';
comment on column scim.tenants.unmapped_department is 'record_error: an incoming department with no mapping leaves the user without one and records an error; create: the department is created.';

create table if not exists scim.column_mappings (
    tenant_id     uuid        not null,
    id            uuid        not null default gen_random_uuid(),
    scim_path     text        not null,
    field         text        not null,
    default_value text,
    transforms    text[]      not null default '{}',
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    constraint column_mappings_pkey primary key (tenant_id, id),
    constraint column_mappings_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint column_mappings_field_key unique (tenant_id, field),
    constraint column_mappings_transforms_check check (transforms <@ array['trim', 'lowercase', 'uppercase']::text[])
);
comment on table scim.column_mappings is 'SCIM attribute path -> application user field, one mapping per field. Paths may name sub-attributes, value filters (phoneNumbers[type eq "mobile"].value) and extension URNs.';
comment on column scim.column_mappings.field is 'An app.users column (username, email, first_name, ...) or custom.<name> for a custom field.';
comment on column scim.column_mappings.default_value is 'Used when the SCIM attribute is absent or empty.';
comment on column scim.column_mappings.transforms is 'Applied in order to the value: trim, lowercase, uppercase.';

create table if not exists scim.department_mappings (
    tenant_id     uuid        not null,
    id            uuid        not null default gen_random_uuid(),
    source_value  text        not null,
    department_id uuid        not null,
    created_at    timestamptz not null default now(),
    constraint department_mappings_pkey primary key (tenant_id, id),
    constraint department_mappings_department_fkey foreign key (tenant_id, department_id)
        references app.departments (tenant_id, id) on delete cascade,
    constraint department_mappings_source_check check (btrim(source_value) <> '')
);
create unique index if not exists department_mappings_source_key on scim.department_mappings (tenant_id, lower(source_value));
comment on table scim.department_mappings is 'Incoming department value (matched ignoring case) -> application department. A value with no mapping matches a department of the same name.';

create table if not exists scim.group_role_mappings (
    tenant_id   uuid        not null,
    id          uuid        not null default gen_random_uuid(),
    match_by    text        not null,
    match_value text        not null,
    role_id     uuid        not null,
    created_at  timestamptz not null default now(),
    constraint group_role_mappings_pkey primary key (tenant_id, id),
    constraint group_role_mappings_role_fkey foreign key (tenant_id, role_id) references app.roles (tenant_id, id) on delete cascade,
    constraint group_role_mappings_match_by_check check (match_by in ('displayName', 'externalId', 'id')),
    constraint group_role_mappings_value_check check (btrim(match_value) <> '')
);
create unique index if not exists group_role_mappings_key on scim.group_role_mappings (tenant_id, match_by, lower(match_value), role_id);
comment on table scim.group_role_mappings is 'A SCIM group (by displayName ignoring case, externalId, or id) -> a role. Members of the group hold the role while they are members and active.';

create table if not exists scim.mapping_changes (
    id          bigint      generated always as identity,
    tenant_id   uuid        not null,
    changed_at  timestamptz not null default now(),
    changed_by  text        not null,
    kind        text        not null,
    action      text        not null,
    old_value   jsonb,
    new_value   jsonb,
    constraint mapping_changes_pkey primary key (id),
    constraint mapping_changes_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint mapping_changes_action_check check (action in ('create', 'update', 'delete'))
);
create index if not exists mapping_changes_tenant_idx on scim.mapping_changes (tenant_id, changed_at desc);
comment on table scim.mapping_changes is 'Audit of every change to mappings, departments, roles, custom fields and settings: who, when, old and new.';
comment on column scim.mapping_changes.changed_by is 'admin-api:<key prefix> or scimctl:<operating-system user>.';

create table if not exists scim.reapply_jobs (
    tenant_id     uuid        not null,
    id            uuid        not null default gen_random_uuid(),
    reason        text        not null,
    state         text        not null default 'pending',
    total_users   integer     not null default 0,
    processed     integer     not null default 0,
    changed       integer     not null default 0,
    cursor_id     uuid,
    error         text,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    finished_at   timestamptz,
    constraint reapply_jobs_pkey primary key (tenant_id, id),
    constraint reapply_jobs_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint reapply_jobs_state_check check (state in ('pending', 'running', 'done', 'failed', 'superseded'))
);
create index if not exists reapply_jobs_open_idx on scim.reapply_jobs (created_at) where state in ('pending', 'running');
comment on table scim.reapply_jobs is 'Re-applying the mappings to every user of a tenant after a change, in batches (each its own short transaction) taken by idle responders or scimctl.';
comment on column scim.reapply_jobs.cursor_id is 'The last SCIM user id done; the next batch starts after it.';

create table if not exists scim.provisioning_errors (
    tenant_id     uuid        not null,
    id            uuid        not null default gen_random_uuid(),
    kind          text        not null,
    cause         text        not null,
    resource_type text,
    resource_id   text,
    subject       text,
    detail        text        not null,
    suggestion    text        not null,
    request_id    text,
    occurrences   integer     not null default 1,
    first_seen_at timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    resolved_at   timestamptz,
    resolved_by   text,
    constraint provisioning_errors_pkey primary key (tenant_id, id),
    constraint provisioning_errors_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint provisioning_errors_kind_check check (kind in ('rejected_request', 'unmapped_department', 'mapped_group_missing', 'invalid_field_value'))
);
-- One open error per cause and resource; a repeat counts an occurrence.
create unique index if not exists provisioning_errors_open_key on scim.provisioning_errors (tenant_id, kind, cause, coalesce(resource_id, ''))
    where resolved_at is null;
create index if not exists provisioning_errors_tenant_idx on scim.provisioning_errors (tenant_id, last_seen_at desc);
comment on table scim.provisioning_errors is 'Failures an administrator can act on, grouped by kind and cause, each with the affected resource and a suggested fix.';
comment on column scim.provisioning_errors.cause is 'What groups errors: the refused request (status and scimType), the department value, the mapping, or the field.';
comment on column scim.provisioning_errors.resolved_by is 'Who marked it resolved, or system when the cause went away (for example, the department was mapped and re-applied).';

-- The column mappings a new tenant starts with: what Entra's default attribute mappings send
-- (ENTRA.md section 4), each to the matching application field. Existing mappings are kept.
create or replace function scim.create_default_column_mappings(p_tenant uuid) returns void
language sql as $$
    insert into scim.column_mappings (tenant_id, scim_path, field, transforms)
    values (p_tenant, 'userName', 'username', '{trim}'),
           (p_tenant, 'emails[type eq "work"].value', 'email', '{trim}'),
           (p_tenant, 'name.givenName', 'first_name', '{trim}'),
           (p_tenant, 'name.familyName', 'last_name', '{trim}'),
           (p_tenant, 'displayName', 'display_name', '{trim}'),
           (p_tenant, 'phoneNumbers[type eq "work"].value', 'phone', '{trim}'),
           (p_tenant, 'phoneNumbers[type eq "mobile"].value', 'mobile', '{trim}'),
           (p_tenant, 'title', 'job_title', '{trim}'),
           (p_tenant, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber', 'employee_number', '{trim}'),
           (p_tenant, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', 'department', '{trim}'),
           (p_tenant, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value', 'manager', '{}'),
           (p_tenant, 'preferredLanguage', 'locale', '{trim}'),
           (p_tenant, 'timezone', 'time_zone', '{trim}'),
           (p_tenant, 'active', 'active', '{}')
    on conflict (tenant_id, field) do nothing;
$$;
select scim.create_default_column_mappings(t.id) from scim.tenants t
 where not exists (select 1 from scim.column_mappings m where m.tenant_id = t.id);
