-- A successful write's log row is written in the write's own transaction, so the two commit
-- together with one flush to disk instead of two. A failure to log must never fail the write
-- it describes: this wrapper turns it into a warning in the server's log.
create or replace function scim.record_write(
    p_tenant_slug text, p_request_id text, p_key_prefix text, p_method text, p_path text,
    p_resource_type text, p_resource_id text, p_subject text, p_status integer, p_scim_type text,
    p_detail text, p_duration_ms numeric, p_request_body jsonb,
    p_rejection_cause text, p_rejection_suggestion text, p_settles_rejections boolean)
returns void language plpgsql as $$
begin
    perform scim.record_request(p_tenant_slug, p_request_id, p_key_prefix, p_method, p_path, p_resource_type,
                                p_resource_id, p_subject, p_status, p_scim_type, p_detail, p_duration_ms, p_request_body,
                                p_rejection_cause, p_rejection_suggestion, p_settles_rejections);
exception when others then
    raise warning 'provisioning log row of request % not written: % (%)', p_request_id, sqlerrm, sqlstate;
end $$;
comment on function scim.record_write(text, text, text, text, text, text, text, text, integer, text, text, numeric, jsonb, text, text, boolean)
    is 'scim.record_request inside a write''s own transaction; a failure to log becomes a warning, never a failed write.';

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant execute on function scim.record_write(text, text, text, text, text, text, text, text, integer, text, text,
                                                    numeric, jsonb, text, text, boolean) to scim_responder;
    end if;
end $$;
