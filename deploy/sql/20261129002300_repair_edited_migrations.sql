-- Two migrations were edited after they had been applied somewhere; databases that applied the
-- first texts lack what was added. This file carries those additions forward, so every database
-- ends the same (scimctl migrate accepts those two earlier texts and no other change):
--  * 20261129001400 gained the 'superseded' state of re-apply jobs (the code writes it);
--  * 20261129001600 gained the trigger that keeps a revoked key revoked.
alter table scim.reapply_jobs drop constraint if exists reapply_jobs_state_check;
alter table scim.reapply_jobs add constraint reapply_jobs_state_check
    check (state in ('pending', 'running', 'done', 'failed', 'superseded'));

-- The responder may revoke keys (admin API) but never bring a revoked key back.
create or replace function scim.keep_revoked_keys_revoked() returns trigger
language plpgsql as $$
begin
    if old.revoked_at is not null and new.revoked_at is distinct from old.revoked_at then
        raise exception 'API key % is revoked; a revoked key stays revoked', old.prefix using errcode = '42501';
    end if;
    return new;
end $$;
drop trigger if exists api_keys_keep_revoked on scim.api_keys;
create trigger api_keys_keep_revoked before update of revoked_at on scim.api_keys
    for each row execute function scim.keep_revoked_keys_revoked();
