create table if not exists scim.tenants (
    id           uuid        not null default gen_random_uuid(),
    slug         text        not null,
    name         text        not null,
    scim_enabled boolean     not null default false,
    created_at   timestamptz not null default now(),
    constraint tenants_pkey primary key (id),
    constraint tenants_slug_key unique (slug),
    constraint tenants_slug_format_check check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$')
);
comment on table scim.tenants is 'One customer organisation; its SCIM endpoint is https://HOST/scim/v2/<slug>.';
comment on column scim.tenants.slug is 'URL segment naming the tenant in its endpoint; lower-case letters, digits and dashes.';
comment on column scim.tenants.scim_enabled is 'The Enable SCIM switch: when false every SCIM request is answered 403.';
