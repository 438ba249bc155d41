create table if not exists scim.groups (
    tenant_id     uuid        not null,
    id            uuid        not null default gen_random_uuid(),
    display_name  text        not null,
    external_id   text,
    attributes    jsonb       not null default '{}'::jsonb,
    version       bigint      not null default 1,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    constraint groups_pkey primary key (tenant_id, id),
    constraint groups_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint groups_display_name_not_blank_check check (btrim(display_name) <> '')
);
-- Entra matches groups by displayName, so it is unique per tenant, ignoring case.
create unique index if not exists groups_tenant_display_name_key on scim.groups (tenant_id, lower(display_name));
create index if not exists groups_tenant_external_id_idx on scim.groups (tenant_id, external_id);
comment on table scim.groups is 'Groups as provisioned over SCIM. Members are rows of scim.group_members, not JSON.';

create table if not exists scim.group_members (
    tenant_id    uuid        not null,
    group_id     uuid        not null,
    member_id    uuid        not null,
    member_type  text        not null default 'User',
    added_at     timestamptz not null default now(),
    constraint group_members_pkey primary key (tenant_id, group_id, member_id),
    constraint group_members_group_fkey foreign key (tenant_id, group_id)
        references scim.groups (tenant_id, id) on delete cascade,
    constraint group_members_member_type_check check (member_type in ('User', 'Group'))
);
-- "Which groups is this user in" (user deletion, the User's groups attribute).
create index if not exists group_members_member_idx on scim.group_members (tenant_id, member_id);
comment on table scim.group_members is 'One row per direct member of a group; adding or removing a member touches one row, whatever the group size.';
comment on column scim.group_members.member_type is 'User or Group (nested group), as in the SCIM members.type sub-attribute.';
