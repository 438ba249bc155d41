-- Every SCIM request, per tenant: who (key), what (method, path, resource), result (status,
-- scimType, detail) and how long it took. Failures keep the request body with secrets removed.
-- Partitioned by month so that retention (scimctl log purge) drops whole partitions.
create table if not exists scim.provisioning_log (
    logged_at     timestamptz not null default now(),
    tenant_id     uuid        not null,
    request_id    text        not null,
    key_prefix    text,
    key_name      text,
    method        text        not null,
    path          text        not null,
    resource_type text,
    resource_id   text,
    subject       text,
    status        integer     not null,
    scim_type     text,
    detail        text,
    duration_ms   numeric(10, 2) not null,
    request_body  jsonb
) partition by range (logged_at);
create table if not exists scim.provisioning_log_default partition of scim.provisioning_log default;
create index if not exists provisioning_log_tenant_time_idx on scim.provisioning_log (tenant_id, logged_at desc);
comment on table scim.provisioning_log is 'One row per SCIM request of a tenant; monthly partitions, purged by scimctl log purge.';
comment on column scim.provisioning_log.key_prefix is 'The public prefix of the API key used; never the secret.';
comment on column scim.provisioning_log.subject is 'The userName or displayName the request was about, when known.';
comment on column scim.provisioning_log.request_body is 'For failed requests only: the body, with passwords and secrets replaced by "[redacted]".';

-- Monthly partitions from this month on; run by migrations and by every purge.
create or replace function scim.ensure_provisioning_log_partitions(months_ahead integer default 3) returns void
language plpgsql as $$
declare
    month date;
begin
    for i in 0..months_ahead loop
        month := date_trunc('month', now())::date + make_interval(months => i);
        if to_regclass(format('scim.provisioning_log_%s', to_char(month, 'YYYYMM'))) is null then
            execute format('create table scim.provisioning_log_%s partition of scim.provisioning_log for values from (%L) to (%L)',
                           to_char(month, 'YYYYMM'), month, month + interval '1 month');
        end if;
    end loop;
end $$;
select scim.ensure_provisioning_log_partitions(3);

-- The responder appends to the log and reads nothing of it.
alter table scim.provisioning_log enable row level security;
drop policy if exists provisioning_log_append on scim.provisioning_log;
create policy provisioning_log_append on scim.provisioning_log for insert with check (true);
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant insert on scim.provisioning_log to scim_responder;
    end if;
end $$;

-- Retention: drops the monthly partitions wholly older than the cutoff, deletes older rows from
-- the rest, and makes sure the coming months have partitions. scimctl log purge calls it; a DBA
-- may schedule it. Returns the number of partitions dropped.
create or replace function scim.purge_provisioning_log(older_than interval) returns integer
language plpgsql as $$
declare
    cutoff timestamptz := now() - older_than;
    partition record;
    dropped integer := 0;
begin
    for partition in
        select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'scim.provisioning_log'::regclass and c.relname ~ '^provisioning_log_[0-9]{6}$'
    loop
        if to_date(right(partition.relname, 6), 'YYYYMM') + interval '1 month' <= cutoff then
            execute format('drop table scim.%I', partition.relname);
            dropped := dropped + 1;
        end if;
    end loop;
    delete from scim.provisioning_log where logged_at < cutoff;
    perform scim.ensure_provisioning_log_partitions(3);
    return dropped;
end $$;
