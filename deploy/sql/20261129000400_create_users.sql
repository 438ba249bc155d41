create table if not exists scim.users (
    tenant_id     uuid        not null,
    id            uuid        not null default gen_random_uuid(),
    user_name     text        not null,
    external_id   text,
    display_name  text,
    active        boolean     not null default true,
    attributes    jsonb       not null,
    version       bigint      not null default 1,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    constraint users_pkey primary key (tenant_id, id),
    constraint users_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint users_user_name_not_blank_check check (btrim(user_name) <> ''),
    constraint users_attributes_object_check check (jsonb_typeof(attributes) = 'object')
);
-- userName is unique per tenant regardless of letter case (RFC 7643 §4.1.1: caseExact false), so
-- the filter `userName eq` and the 409 on create see exactly the same users.
create unique index if not exists users_tenant_user_name_key on scim.users (tenant_id, lower(user_name));
create index if not exists users_tenant_external_id_idx on scim.users (tenant_id, external_id);
comment on table scim.users is 'Users as provisioned over SCIM: the full resource in attributes, filtered and unique values in columns.';
comment on column scim.users.id is 'The SCIM id we assign; identity providers cache it and address the user by it.';
comment on column scim.users.user_name is 'SCIM userName, unique per tenant case-insensitively.';
comment on column scim.users.external_id is 'SCIM externalId: the identity provider''s own id for the user (case-sensitive).';
comment on column scim.users.active is 'SCIM active: false means deprovisioned (disabled), not deleted.';
comment on column scim.users.attributes is 'The SCIM resource in canonical form, without id and meta; extensions under their schema URN.';
comment on column scim.users.version is 'Incremented on every change; the ETag is W/"<version>".';
