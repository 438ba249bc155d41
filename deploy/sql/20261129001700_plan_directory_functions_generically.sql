-- The directory functions run on every user write and membership change. PL/pgSQL plans their
-- statements per call (custom plans) while it judges a generic plan costlier, and planning the
-- group_roles view three ways cost ~3 ms a call against microseconds to run. Their statements
-- look rows up by key, so one generic plan serves every call.
alter function app.sync_user(uuid, uuid, jsonb, text) set plan_cache_mode = force_generic_plan;
alter function app.refresh_group_roles(uuid, uuid[]) set plan_cache_mode = force_generic_plan;
alter function app.check_group_role_mappings(uuid) set plan_cache_mode = force_generic_plan;
