-- Successful reads are counted, not logged one row each. Entra looks every user in scope up with a
-- filter GET on every cycle: a tenant of 100,000 users wrote 100,000 log rows every 40 minutes,
-- each an insert into four indexes on the request's path, saying nothing that a count per minute
-- does not. Each responder worker now adds up its successful reads by tenant, minute, key and
-- endpoint and writes the sums every few seconds; failures and writes keep their full rows.
-- SCIM_LOG_READS=rows brings back one row per read, for troubleshooting.

create table if not exists scim.read_counts (
    tenant_id  uuid          not null,
    minute     timestamptz   not null,
    key_prefix text          not null default '',
    endpoint   text          not null,
    requests   bigint        not null,
    total_ms   numeric(14, 2) not null,
    max_ms     numeric(10, 2) not null,
    last_at    timestamptz   not null,
    constraint read_counts_pkey primary key (tenant_id, minute, key_prefix, endpoint),
    constraint read_counts_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade
);
comment on table scim.read_counts is
    'Successful SCIM reads per tenant, minute, API key and endpoint (Users, Groups, discovery ...): how many, how long in all and at most, and when the last one was.';
comment on column scim.read_counts.key_prefix is 'The public prefix of the API key used; never the secret.';

alter table scim.read_counts enable row level security;
drop policy if exists tenant_isolation on scim.read_counts;
create policy tenant_isolation on scim.read_counts using (tenant_id = current_setting('scim.tenant_id', true)::uuid)
    with check (tenant_id = current_setting('scim.tenant_id', true)::uuid);

-- Adds one worker's sums. Scopes itself to the tenant, and commits without waiting for a flush to
-- disk: a crash can lose the last seconds of read counts, never a write or a failure's row.
create or replace function scim.add_read_counts(
    p_tenant uuid, p_minute timestamptz, p_key_prefix text, p_endpoint text,
    p_requests integer, p_total_ms numeric, p_max_ms numeric, p_last_at timestamptz)
returns void language plpgsql as $$
begin
    perform set_config('scim.tenant_id', p_tenant::text, true);
    perform set_config('synchronous_commit', 'off', true);
    insert into scim.read_counts as c (tenant_id, minute, key_prefix, endpoint, requests, total_ms, max_ms, last_at)
    values (p_tenant, p_minute, coalesce(p_key_prefix, ''), p_endpoint, p_requests, p_total_ms, p_max_ms, p_last_at)
    on conflict on constraint read_counts_pkey do update set
        requests = c.requests + excluded.requests,
        total_ms = c.total_ms + excluded.total_ms,
        max_ms = greatest(c.max_ms, excluded.max_ms),
        last_at = greatest(c.last_at, excluded.last_at);
end $$;
comment on function scim.add_read_counts(uuid, timestamptz, text, text, integer, numeric, numeric, timestamptz) is
    'Adds a responder worker''s sums of successful reads; scopes itself to the tenant; asynchronous commit.';

-- The log's maintenance also drops read counts past the retention.
create or replace function scim.maintain_provisioning_log_at(as_of timestamptz, force boolean)
returns boolean language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
    settings scim.log_retention;
    dropped integer;
    moved bigint;
begin
    if not pg_try_advisory_xact_lock(hashtext('scim.maintain_provisioning_log')) then
        return false;
    end if;
    select * into settings from scim.log_retention where singleton;
    if not force and settings.last_run_at is not null and settings.last_run_at > as_of - interval '1 hour'
       and settings.last_run_at <= as_of then
        return false;
    end if;
    dropped := scim.purge_provisioning_log_at(as_of, make_interval(days => settings.retention_days), false);
    moved := scim.ensure_provisioning_log_partitions_at(as_of, settings.months_ahead, as_of - make_interval(days => settings.retention_days));
    delete from scim.read_counts where minute < as_of - make_interval(days => settings.retention_days);
    update scim.log_retention set last_run_at = as_of, last_run_dropped = dropped, last_run_moved = moved where singleton;
    return true;
end $$;
revoke all on function scim.maintain_provisioning_log_at(timestamptz, boolean) from public;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant select, insert, update on scim.read_counts to scim_responder;
        grant execute on function scim.add_read_counts(uuid, timestamptz, text, text, integer, numeric, numeric, timestamptz) to scim_responder;
    end if;
end $$;
