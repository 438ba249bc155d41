-- Indexes that let every common filter shape run on an index (README, "Filters and indexes").
-- pg_trgm is a trusted extension: the database owner can create it; otherwise a superuser once.
create extension if not exists pg_trgm;

-- Lower-cased "path=value" and "path" tokens for every scalar in a resource's attributes, e.g.
-- 'emails.type=work', 'emails.value=ann@example.com', 'name.familyname=smith', 'title'. Elements of
-- multi-valued attributes keep the attribute's path; extension attributes are under their URN.
-- An equality or presence filter on any attribute is first narrowed by a GIN lookup on these
-- tokens and then checked exactly, so the tokens only ever speed a filter up, never change it.
create or replace function scim.search_keys(attributes jsonb) returns text[]
language sql immutable strict parallel safe as $$
    with recursive walk(path, value, depth) as (
        select lower(key), value, 1 from jsonb_each(attributes)
        union all
        select case when c.key is null then w.path else w.path || '.' || lower(c.key) end, c.value, w.depth + 1
        from walk w cross join lateral (
            select key, value from jsonb_each(case jsonb_typeof(w.value) when 'object' then w.value else '{}'::jsonb end)
            union all
            select null, value from jsonb_array_elements(case jsonb_typeof(w.value) when 'array' then w.value else '[]'::jsonb end)
        ) c
        where w.depth < 5
    )
    select coalesce(array_agg(distinct token), '{}') from (
        select left(path || '=' || lower(value #>> '{}'), 200) as token from walk
        where jsonb_typeof(value) in ('string', 'number', 'boolean')
        union all
        select left(path, 200) from walk
    ) tokens
$$;
comment on function scim.search_keys(jsonb) is 'Search tokens of a SCIM resource; feeds scim.users.search_keys.';

alter table scim.users add column if not exists search_keys text[] generated always as (scim.search_keys(attributes)) stored;
comment on column scim.users.search_keys is 'Derived from attributes by scim.search_keys(); indexed for filters on any attribute.';

create index if not exists users_search_keys_idx on scim.users using gin (search_keys);
-- co / sw / ew on userName and displayName (Entra and admins search by fragments).
create index if not exists users_user_name_trgm_idx on scim.users using gin (lower(user_name) gin_trgm_ops);
create index if not exists users_display_name_trgm_idx on scim.users using gin (lower(display_name) gin_trgm_ops);
create index if not exists users_tenant_display_name_idx on scim.users (tenant_id, lower(display_name));
-- meta.created / meta.lastModified ranges (incremental reads).
create index if not exists users_tenant_created_idx on scim.users (tenant_id, created_at);
create index if not exists users_tenant_updated_idx on scim.users (tenant_id, updated_at);
create index if not exists groups_display_name_trgm_idx on scim.groups using gin (lower(display_name) gin_trgm_ops);
