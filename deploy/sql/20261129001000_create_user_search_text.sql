-- Substring filters (co, sw, ew) on any attribute: every scalar as a 'path=value' line, lower-cased
-- and not shortened, with a trigram index. A substring filter is first narrowed through it (the
-- line "emails.value=...fab..." contains "emails.value=" and, after it, "fab"), then checked exactly.
create or replace function scim.search_text(attributes jsonb) returns text
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
    select coalesce(string_agg(path || '=' || lower(value #>> '{}'), chr(10)), '') from walk
    where jsonb_typeof(value) in ('string', 'number', 'boolean')
$$;
comment on function scim.search_text(jsonb) is 'Search lines of a SCIM resource; feeds scim.users.search_text.';

alter table scim.users add column if not exists search_text text generated always as (scim.search_text(attributes)) stored;
comment on column scim.users.search_text is 'Derived from attributes by scim.search_text(); trigram-indexed for co/sw/ew filters.';
create index if not exists users_search_text_trgm_idx on scim.users using gin (search_text gin_trgm_ops);

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant execute on function scim.search_text(jsonb) to scim_responder;
    end if;
end $$;
