-- Every primary key, unique constraint and foreign key leads with tenant_id, and no table draws
-- its ids from a sequence, so that a deployment that outgrows one database machine can distribute
-- the tables by tenant (deploy/citus.md) without a schema change.
--   api_keys:         primary key (tenant_id, id); a prefix is unique within its tenant (every
--                     lookup names the tenant: the request's URL, the admin's tenant).
--   mapping_changes:  ids become UUIDs (they came from one sequence shared by every tenant); the
--                     audit is ordered by changed_at, which now takes the statement's clock time.
--   console_users, console_invites, console_sessions: primary keys (tenant_id, id); a session's
--                     user is referenced with its tenant; a token hash is unique within its tenant,
--                     and found through a plain index (a browser's cookie does not name the tenant).
-- The old constraints are replaced by new ones in the same transaction; each step checks whether it
-- has been done, so the file can run again.
do $$
begin
    -- API keys
    if exists (select 1 from pg_constraint where conname = 'api_keys_prefix_key' and conrelid = 'scim.api_keys'::regclass) then
        alter table scim.api_keys drop constraint api_keys_prefix_key;
    end if;
    if not exists (select 1 from pg_constraint where conname = 'api_keys_tenant_prefix_key') then
        alter table scim.api_keys add constraint api_keys_tenant_prefix_key unique (tenant_id, prefix);
    end if;
    if (select array_length(conkey, 1) from pg_constraint where conname = 'api_keys_pkey' and conrelid = 'scim.api_keys'::regclass) = 1 then
        alter table scim.api_keys drop constraint api_keys_pkey;
        alter table scim.api_keys add constraint api_keys_pkey primary key (tenant_id, id);
    end if;

    -- The mapping audit
    if (select atttypid from pg_attribute where attrelid = 'scim.mapping_changes'::regclass and attname = 'id') = 'bigint'::regtype then
        alter table scim.mapping_changes drop constraint mapping_changes_pkey;
        alter table scim.mapping_changes alter column id drop identity if exists;
        alter table scim.mapping_changes alter column id type uuid using gen_random_uuid();
        alter table scim.mapping_changes alter column id set default gen_random_uuid();
        alter table scim.mapping_changes add constraint mapping_changes_pkey primary key (tenant_id, id);
    end if;
    alter table scim.mapping_changes alter column changed_at set default clock_timestamp();

    -- Console sessions reference their user with its tenant; the user's key can then change.
    if exists (select 1 from pg_constraint where conname = 'console_sessions_user_fkey'
               and conrelid = 'scim.console_sessions'::regclass and array_length(conkey, 1) = 1) then
        alter table scim.console_sessions drop constraint console_sessions_user_fkey;
    end if;
    if (select array_length(conkey, 1) from pg_constraint where conname = 'console_users_pkey' and conrelid = 'scim.console_users'::regclass) = 1 then
        alter table scim.console_users drop constraint console_users_pkey;
        alter table scim.console_users add constraint console_users_pkey primary key (tenant_id, id);
    end if;
    if not exists (select 1 from pg_constraint where conname = 'console_sessions_user_fkey') then
        alter table scim.console_sessions add constraint console_sessions_user_fkey
            foreign key (tenant_id, user_id) references scim.console_users (tenant_id, id) on delete cascade;
    end if;
    if (select array_length(conkey, 1) from pg_constraint where conname = 'console_sessions_pkey' and conrelid = 'scim.console_sessions'::regclass) = 1 then
        alter table scim.console_sessions drop constraint console_sessions_pkey;
        alter table scim.console_sessions add constraint console_sessions_pkey primary key (tenant_id, id);
    end if;
    if (select array_length(conkey, 1) from pg_constraint where conname = 'console_invites_pkey' and conrelid = 'scim.console_invites'::regclass) = 1 then
        alter table scim.console_invites drop constraint console_invites_pkey;
        alter table scim.console_invites add constraint console_invites_pkey primary key (tenant_id, id);
    end if;
    if exists (select 1 from pg_constraint where conname = 'console_sessions_token_hash_key' and array_length(conkey, 1) = 1) then
        alter table scim.console_sessions drop constraint console_sessions_token_hash_key;
        alter table scim.console_sessions add constraint console_sessions_token_hash_key unique (tenant_id, token_hash);
    end if;
    if exists (select 1 from pg_constraint where conname = 'console_invites_token_hash_key' and array_length(conkey, 1) = 1) then
        alter table scim.console_invites drop constraint console_invites_token_hash_key;
        alter table scim.console_invites add constraint console_invites_token_hash_key unique (tenant_id, token_hash);
    end if;
end $$;

create index if not exists console_sessions_token_hash_idx on scim.console_sessions (token_hash);
create index if not exists console_invites_token_hash_idx on scim.console_invites (token_hash);
comment on column scim.mapping_changes.changed_at is 'When the change was made (clock time, so the changes of one transaction keep their order).';
