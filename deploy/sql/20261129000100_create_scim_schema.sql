-- The "scim" schema holds what the SCIM protocol stores: tenants, their API keys, and the users,
-- groups and memberships that identity providers provision. Application-side tables live elsewhere.
create schema if not exists scim;
comment on schema scim is 'SCIM 2.0 provisioning: tenants, API keys and the resources identity providers push.';
