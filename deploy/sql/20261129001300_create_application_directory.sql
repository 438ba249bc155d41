-- The application directory: the users, departments and roles the application itself works with.
-- The provisioning server keeps it in step with the SCIM resources, in the same transaction as the
-- SCIM write, through the tenant's column, department and group-role mappings. The application
-- owns these rows: deprovisioning marks a user inactive, it never deletes one.
create schema if not exists app;
comment on schema app is 'The application directory (users, departments, roles, role assignments), fed by SCIM provisioning.';

create table if not exists app.departments (
    tenant_id   uuid        not null,
    id          uuid        not null default gen_random_uuid(),
    name        text        not null,
    created_by  text        not null default 'admin',
    created_at  timestamptz not null default now(),
    constraint departments_pkey primary key (tenant_id, id),
    constraint departments_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint departments_name_check check (btrim(name) <> '' and length(name) <= 200),
    constraint departments_created_by_check check (created_by in ('admin', 'provisioning'))
);
create unique index if not exists departments_tenant_name_key on app.departments (tenant_id, lower(name));
comment on table app.departments is 'Departments of the application. Names are unique per tenant, ignoring case.';
comment on column app.departments.created_by is 'admin: created by an administrator; provisioning: created for an unmapped incoming value (tenant setting unmapped_department = create).';

create table if not exists app.roles (
    tenant_id   uuid        not null,
    id          uuid        not null default gen_random_uuid(),
    name        text        not null,
    description text,
    created_at  timestamptz not null default now(),
    constraint roles_pkey primary key (tenant_id, id),
    constraint roles_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint roles_name_check check (btrim(name) <> '' and length(name) <= 200)
);
create unique index if not exists roles_tenant_name_key on app.roles (tenant_id, lower(name));
comment on table app.roles is 'Roles of the application; granted manually or derived from mapped groups (scim.group_role_mappings).';

create table if not exists app.custom_fields (
    tenant_id   uuid        not null,
    name        text        not null,
    label       text        not null,
    max_length  integer     not null default 200,
    created_at  timestamptz not null default now(),
    constraint custom_fields_pkey primary key (tenant_id, name),
    constraint custom_fields_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint custom_fields_name_check check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    constraint custom_fields_max_length_check check (max_length between 1 and 10000)
);
comment on table app.custom_fields is 'Per-tenant user fields declared by an administrator; their values live in app.users.custom_fields under the field name.';

create table if not exists app.users (
    tenant_id        uuid        not null,
    id               uuid        not null default gen_random_uuid(),
    scim_user_id     uuid,
    username         text        not null,
    email            text,
    first_name       text,
    last_name        text,
    display_name     text,
    phone            text,
    mobile           text,
    job_title        text,
    employee_number  text,
    department_id    uuid,
    manager_id       uuid,
    manager_ref      text,
    locale           text,
    time_zone        text,
    active           boolean     not null default true,
    deprovisioned_at timestamptz,
    custom_fields    jsonb       not null default '{}'::jsonb,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    constraint users_pkey primary key (tenant_id, id),
    constraint users_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint users_scim_user_fkey foreign key (tenant_id, scim_user_id)
        references scim.users (tenant_id, id) on delete set null (scim_user_id),
    constraint users_department_fkey foreign key (tenant_id, department_id)
        references app.departments (tenant_id, id) on delete set null (department_id),
    constraint users_manager_fkey foreign key (tenant_id, manager_id)
        references app.users (tenant_id, id) on delete set null (manager_id),
    constraint users_username_check check (btrim(username) <> ''),
    constraint users_custom_fields_check check (jsonb_typeof(custom_fields) = 'object'),
    constraint users_deprovisioned_check check (active or deprovisioned_at is not null)
);
create unique index if not exists users_tenant_username_key on app.users (tenant_id, lower(username));
create unique index if not exists users_tenant_scim_user_key on app.users (tenant_id, scim_user_id);
create index if not exists users_tenant_department_idx on app.users (tenant_id, department_id);
create index if not exists users_tenant_manager_ref_idx on app.users (tenant_id, manager_ref) where manager_id is null;
comment on table app.users is 'Application users. Provisioned ones are linked to their SCIM user; fields come from the column mappings.';
comment on column app.users.scim_user_id is 'The SCIM user this user is provisioned from; null for a user never provisioned or whose SCIM user was deleted.';
comment on column app.users.username is 'Sign-in name, unique per tenant ignoring case; a SCIM user re-created with it is linked to this user again.';
comment on column app.users.department_id is 'From the department field through scim.department_mappings (or a department of the same name).';
comment on column app.users.manager_id is 'The application user the manager mapping names (by SCIM id).';
comment on column app.users.manager_ref is 'The SCIM id the manager mapping gave while that user was not provisioned yet; resolved when it arrives.';
comment on column app.users.active is 'false once deprovisioned (SCIM active=false or DELETE); the row and the application''s data stay.';
comment on column app.users.deprovisioned_at is 'When the user was last deprovisioned; null while active.';
comment on column app.users.custom_fields is 'Values of the tenant''s custom fields (app.custom_fields), by field name.';

create table if not exists app.role_assignments (
    tenant_id   uuid        not null,
    user_id     uuid        not null,
    role_id     uuid        not null,
    source      text        not null,
    group_id    uuid,
    assigned_at timestamptz not null default now(),
    assigned_by text,
    constraint role_assignments_user_fkey foreign key (tenant_id, user_id) references app.users (tenant_id, id) on delete cascade,
    constraint role_assignments_role_fkey foreign key (tenant_id, role_id) references app.roles (tenant_id, id) on delete cascade,
    constraint role_assignments_group_fkey foreign key (tenant_id, group_id) references scim.groups (tenant_id, id) on delete cascade,
    constraint role_assignments_source_check check (source in ('group', 'manual') and (source = 'group') = (group_id is not null)),
    constraint role_assignments_key unique nulls not distinct (tenant_id, user_id, role_id, group_id)
);
create index if not exists role_assignments_group_idx on app.role_assignments (tenant_id, group_id) where group_id is not null;
create index if not exists role_assignments_role_idx on app.role_assignments (tenant_id, role_id);
comment on table app.role_assignments is 'Why a user has a role: one row per granting mapped group (source group), or one manual row. A user has a role while any row grants it.';
comment on column app.role_assignments.source is 'group: derived from membership of a mapped group, maintained by provisioning; manual: granted by an administrator, never touched by provisioning.';
comment on column app.role_assignments.group_id is 'For source group: the SCIM group whose mapping grants the role.';
