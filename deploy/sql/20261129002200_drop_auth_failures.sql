-- Failed authentications are no longer counted per address in the database: a wrong key is
-- always a 401, and floods are bounded by nginx per client address (deploy/nginx). The table
-- only cost a write per stranger's request.
drop table if exists scim.auth_failures;
