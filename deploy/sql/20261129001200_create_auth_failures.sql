-- Failed authentications per client address and minute. A valid key is never slowed down; a
-- failed one from an address with too many recent failures is answered 429 instead of 401.
create table if not exists scim.auth_failures (
    address      text        not null,
    window_start timestamptz not null,
    failures     integer     not null default 0,
    constraint auth_failures_pkey primary key (address, window_start)
);
comment on table scim.auth_failures is 'Failed SCIM authentications per client address and minute, for throttling; rows older than an hour are removed as new ones arrive.';
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant select, insert, update, delete on scim.auth_failures to scim_responder;
    end if;
end $$;
