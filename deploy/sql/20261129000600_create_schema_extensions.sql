-- Custom extension schemas a tenant declares (RFC 7643 §3.3), e.g. the attributes Entra sends as
-- urn:ietf:params:scim:schemas:extension:<Name>:2.0:User:<attr>. Their values are stored in the
-- resource's attributes under the extension URN, like the enterprise extension.
create table if not exists scim.schema_extensions (
    tenant_id     uuid        not null,
    urn           text        not null,
    resource_type text        not null,
    definition    jsonb       not null,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    constraint schema_extensions_pkey primary key (tenant_id, urn),
    constraint schema_extensions_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint schema_extensions_resource_type_check check (resource_type in ('User', 'Group')),
    constraint schema_extensions_urn_check check (urn ~* '^urn:[a-z0-9][a-z0-9-]{0,31}:')
);
comment on table scim.schema_extensions is 'Custom SCIM extension schemas per tenant; advertised in /Schemas and /ResourceTypes.';
comment on column scim.schema_extensions.definition is 'The schema in its SCIM representation (RFC 7643 §7): id, name, description, attributes.';

-- Bumped whenever a tenant's extensions change, so responders can cache them per tenant.
alter table scim.tenants add column if not exists schema_version bigint not null default 1;
comment on column scim.tenants.schema_version is 'Incremented when the tenant''s extension schemas change.';
