"""Data migration: the audit chain's head row, and on PostgreSQL the append-only trigger.

The trigger refuses UPDATE, DELETE and TRUNCATE on the audit table unless the session
has set `liftoff.audit_maintenance = on` (the test suite does, to empty tables between
tests; nothing in the application does). A database owner can always bypass triggers:
the hash chain, checked by verify_audit, is what proves the history intact.
"""

from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION liftoff_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF current_setting('liftoff.audit_maintenance', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER liftoff_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON liftoff_auditevent
    FOR EACH ROW EXECUTE FUNCTION liftoff_audit_append_only();
CREATE TRIGGER liftoff_audit_no_truncate
    BEFORE TRUNCATE ON liftoff_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION liftoff_audit_append_only();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS liftoff_audit_no_update_delete ON liftoff_auditevent;
DROP TRIGGER IF EXISTS liftoff_audit_no_truncate ON liftoff_auditevent;
DROP FUNCTION IF EXISTS liftoff_audit_append_only();
"""


def forwards(apps, schema_editor):
    apps.get_model("liftoff", "AuditChainHead").objects.get_or_create(
        pk=1, defaults={"seq": 0, "hash": "0" * 64}
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("liftoff", "0002_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
