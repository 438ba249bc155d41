create table if not exists scim.api_keys (
    id           uuid        not null default gen_random_uuid(),
    tenant_id    uuid        not null,
    name         text        not null,
    prefix       text        not null,
    secret_hash  bytea       not null,
    scopes       text[]      not null,
    created_at   timestamptz not null default now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    expires_at   timestamptz,
    constraint api_keys_pkey primary key (id),
    constraint api_keys_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint api_keys_prefix_key unique (prefix),
    constraint api_keys_scopes_check check (scopes <@ array['scim', 'admin']::text[] and cardinality(scopes) > 0),
    constraint api_keys_secret_hash_length_check check (octet_length(secret_hash) = 32)
);
create index if not exists api_keys_tenant_idx on scim.api_keys (tenant_id, created_at);
comment on table scim.api_keys is 'Bearer tokens of a tenant. The secret is shown once at creation and never stored: only its SHA-256.';
comment on column scim.api_keys.prefix is 'Public part of the token (sk_<prefix>_<secret>), used to find the key; safe to show and log.';
comment on column scim.api_keys.secret_hash is 'SHA-256 of the whole token.';
comment on column scim.api_keys.scopes is 'scim: may provision through /scim/v2; admin: may use the admin API.';
comment on column scim.api_keys.last_used_at is 'Last successful use, refreshed at most once a minute.';
comment on column scim.api_keys.revoked_at is 'Set when the key is revoked; a revoked key is refused from the next request on.';
