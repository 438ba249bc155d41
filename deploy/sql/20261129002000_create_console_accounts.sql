-- The admin console's people: console users of a tenant, the one-time invites that create them,
-- and their signed-in sessions. Secrets (invite links, session ids) are stored only as SHA-256;
-- passwords only as a scrypt hash. Looked up before a request knows its tenant (a session id
-- names its tenant), so these tables carry no row-level security policy, like scim.api_keys.
create table if not exists scim.console_users (
    id                uuid        not null default gen_random_uuid(),
    tenant_id         uuid        not null,
    email             text        not null,
    password_hash     text,
    created_at        timestamptz not null default now(),
    created_by        text        not null,
    failed_sign_ins   integer     not null default 0,
    last_failed_at    timestamptz,
    last_signed_in_at timestamptz,
    constraint console_users_pkey primary key (id),
    constraint console_users_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint console_users_email_check check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' and length(email) <= 254)
);
create unique index if not exists console_users_tenant_email_key on scim.console_users (tenant_id, lower(email));
comment on table scim.console_users is 'People who administer a tenant in the browser console. Created by accepting an invite.';
comment on column scim.console_users.password_hash is 'scrypt$N$r$p$salt$hash (base64); null until the invite is accepted.';
comment on column scim.console_users.failed_sign_ins is 'Consecutive failed sign-ins; each one delays the next attempt longer (capped), a success resets it. Never a permanent lockout.';

create table if not exists scim.console_invites (
    id          uuid        not null default gen_random_uuid(),
    tenant_id   uuid        not null,
    email       text        not null,
    token_hash  bytea       not null,
    created_at  timestamptz not null default now(),
    created_by  text        not null,
    expires_at  timestamptz not null,
    accepted_at timestamptz,
    constraint console_invites_pkey primary key (id),
    constraint console_invites_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint console_invites_token_hash_key unique (token_hash),
    constraint console_invites_token_hash_length_check check (octet_length(token_hash) = 32)
);
create index if not exists console_invites_tenant_idx on scim.console_invites (tenant_id, created_at);
comment on table scim.console_invites is 'One-time invite links (valid 24 hours, single use); only the SHA-256 of the link secret is kept.';

create table if not exists scim.console_sessions (
    id            uuid        not null default gen_random_uuid(),
    tenant_id     uuid        not null,
    user_id       uuid        not null,
    token_hash    bytea       not null,
    csrf_token    text        not null,
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    constraint console_sessions_pkey primary key (id),
    constraint console_sessions_user_fkey foreign key (user_id) references scim.console_users (id) on delete cascade,
    constraint console_sessions_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint console_sessions_token_hash_key unique (token_hash),
    constraint console_sessions_token_hash_length_check check (octet_length(token_hash) = 32)
);
create index if not exists console_sessions_user_idx on scim.console_sessions (user_id);
comment on table scim.console_sessions is 'Signed-in console sessions: idle expiry 30 minutes, absolute 12 hours (checked on every request); sign-out deletes the row. Only the SHA-256 of the cookie value is kept.';
comment on column scim.console_sessions.csrf_token is 'Random token every state-changing form of this session must carry.';

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant select, insert, update, delete on scim.console_users, scim.console_invites, scim.console_sessions to scim_responder;
    end if;
end $$;
