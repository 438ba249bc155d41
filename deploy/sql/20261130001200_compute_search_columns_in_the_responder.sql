-- scim.users.search_text and search_keys were generated columns: every insert and update ran
-- scim.search_text() and scim.search_keys(), two recursive walks of the document, about 45 us
-- each. pgbench of a whole create (user, application user, log row; 16 clients, four alternating
-- rounds): 1,795 creates/s with the database computing the two values, 2,137/s with them given
-- by the statement. The responder now gives them (SearchColumns in SCIMPostgres, which the tests
-- hold equal to these functions), lowered by the statement's own lower().
--
-- The columns stay filled whoever writes: a trigger computes both with the same functions as
-- before when an insert leaves either empty, or when an update changes the document but leaves
-- both as they were (a DBA's update of attributes). Values already stored stay; nothing is
-- rewritten (DROP EXPRESSION keeps the data).
alter table scim.users alter column search_text drop expression if exists;
alter table scim.users alter column search_keys drop expression if exists;

create or replace function scim.fill_search_columns() returns trigger
language plpgsql as $$
begin
    new.search_keys := scim.search_keys(new.attributes);
    new.search_text := scim.search_text(new.attributes);
    return new;
end
$$;

drop trigger if exists users_search_columns_on_insert on scim.users;
create trigger users_search_columns_on_insert
    before insert on scim.users
    for each row when (new.search_text is null or new.search_keys is null)
    execute function scim.fill_search_columns();

drop trigger if exists users_search_columns_on_update on scim.users;
create trigger users_search_columns_on_update
    before update of attributes on scim.users
    for each row when (new.attributes is distinct from old.attributes
                       and new.search_text is not distinct from old.search_text
                       and new.search_keys is not distinct from old.search_keys)
    execute function scim.fill_search_columns();
