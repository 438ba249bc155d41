-- Two costs every request or idle worker paid for nothing:
-- * A successful read's log row waited for a WAL flush to disk before the next request could be
--   served. Its commit is now asynchronous (synchronous_commit off for that transaction only): a
--   crash may lose the last fraction of a second of such rows, never a SCIM write or its outcome,
--   nor the row of a failed request or of any write, which stay synchronous. So does the minute
--   mark of a key's last use.
-- * Idle workers asked every second whether a re-apply job was waiting. A new job now notifies
--   channel scim_reapply when its transaction commits; workers LISTEN, and look on their own only
--   rarely (for a job left behind by a crash).

create or replace function scim.record_request(
    p_tenant_slug text, p_request_id text, p_key_prefix text, p_method text, p_path text,
    p_resource_type text, p_resource_id text, p_subject text, p_status integer, p_scim_type text,
    p_detail text, p_duration_ms numeric, p_request_body jsonb,
    p_rejection_cause text, p_rejection_suggestion text, p_settles_rejections boolean)
returns void language plpgsql as $$
declare
    v_tenant uuid;
begin
    select t.id into v_tenant from scim.tenants t where t.slug = p_tenant_slug;
    if v_tenant is null then
        return;
    end if;
    perform set_config('scim.tenant_id', v_tenant::text, true);
    if upper(p_method) in ('GET', 'HEAD') and p_status < 400 then
        perform set_config('synchronous_commit', 'off', true);
    end if;
    insert into scim.provisioning_log (tenant_id, request_id, key_prefix, key_name, method, path, resource_type,
                                       resource_id, subject, status, scim_type, detail, duration_ms, request_body)
    values (v_tenant, p_request_id, p_key_prefix,
            (select k.name from scim.api_keys k where k.prefix = p_key_prefix and k.tenant_id = v_tenant),
            p_method, left(p_path, 500), p_resource_type, p_resource_id, p_subject,
            p_status, p_scim_type, p_detail, least(p_duration_ms, 99999999.99), p_request_body);
    if p_rejection_cause is not null then
        perform scim.record_error(v_tenant, 'rejected_request', p_rejection_cause, p_resource_type,
                                  coalesce(p_resource_id, p_subject), p_subject,
                                  p_method || ' ' || left(p_path, 300) || ': ' || coalesce(p_detail, ''),
                                  p_rejection_suggestion, p_request_id);
    end if;
    if p_settles_rejections then
        update scim.provisioning_errors e set resolved_at = now(), resolved_by = 'system'
         where e.tenant_id = v_tenant and e.kind = 'rejected_request' and e.resolved_at is null
           and e.resource_type = p_resource_type
           and (e.resource_id = p_resource_id or lower(e.resource_id) = lower(p_subject) or lower(e.subject) = lower(p_subject));
    end if;
end $$;

create or replace function scim.record_key_use(p_key uuid) returns void language plpgsql as $$
declare
    v_tenant uuid;
begin
    select k.tenant_id into v_tenant from scim.api_keys k
     where k.id = p_key and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');
    if v_tenant is null then
        return;
    end if;
    perform set_config('scim.tenant_id', v_tenant::text, true);
    perform set_config('synchronous_commit', 'off', true);
    update scim.api_keys set last_used_at = now()
     where id = (select k.id from scim.api_keys k
                  where k.id = p_key and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute')
                    for update skip locked);
end $$;

create or replace function scim.notify_reapply_job() returns trigger language plpgsql as $$
begin
    perform pg_notify('scim_reapply', new.tenant_id::text);
    return null;
end $$;
comment on function scim.notify_reapply_job() is 'Wakes the workers listening on scim_reapply when a re-apply job is queued.';

drop trigger if exists reapply_jobs_notify on scim.reapply_jobs;
create trigger reapply_jobs_notify after insert on scim.reapply_jobs
    for each row execute function scim.notify_reapply_job();
