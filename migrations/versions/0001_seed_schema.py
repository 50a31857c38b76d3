"""The seed schema: 15 tables, 6 enum types, the seed's indexes and its High Priority Indexes.

Revision ID: 0001_seed_schema
Revises:
Create Date: 2026-11-24

Names follow Prisma's (`users_email_key`, `..._idx`, `..._fkey`) and the High Priority SQL's
(`idx_workflows_workspace_active`...). Prisma's `@updatedAt` becomes the `set_updated_at` trigger so rows
updated by plain SQL (retention jobs, psql) keep an honest `updated_at` too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001_seed_schema'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose seed model has `updatedAt DateTime @updatedAt`.
UPDATED_AT_TABLES = (
    "users", "workspaces", "workspace_members", "integrations", "connections", "triggers", "actions",
    "workflows", "webhooks", "workflow_templates",
)
ENUM_TYPES = ("plan", "workspace_role", "auth_type", "test_status", "trigger_type", "execution_status")


def upgrade() -> None:
    op.create_table('audit_logs',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('user_id', sa.Text(), nullable=True),
    sa.Column('workspace_id', sa.Text(), nullable=True),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('entity_type', sa.Text(), nullable=False),
    sa.Column('entity_id', sa.Text(), nullable=True),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('ip_address', sa.Text(), nullable=True),
    sa.Column('user_agent', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('audit_logs_pkey'))
    )
    op.create_index('audit_logs_created_at_idx', 'audit_logs', ['created_at'], unique=False)
    op.create_index('audit_logs_user_id_idx', 'audit_logs', ['user_id'], unique=False)
    op.create_index('audit_logs_workspace_id_idx', 'audit_logs', ['workspace_id'], unique=False)
    op.create_index('idx_audit_entity', 'audit_logs', ['entity_type', 'entity_id'], unique=False)
    op.create_index('idx_audit_workspace_created', 'audit_logs', ['workspace_id', sa.literal_column('created_at DESC')], unique=False)
    op.create_table('integrations',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('icon', sa.Text(), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('auth_type', sa.Enum('OAUTH2', 'API_KEY', 'BASIC', 'NONE', name='auth_type'), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('is_popular', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('docs_url', sa.Text(), nullable=True),
    sa.Column('website_url', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('integrations_pkey'))
    )
    op.create_table('users',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('first_name', sa.Text(), nullable=False),
    sa.Column('last_name', sa.Text(), nullable=False),
    sa.Column('email_verified', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('users_pkey')),
    sa.UniqueConstraint('email', name=op.f('users_email_key'))
    )
    op.create_table('workflow_templates',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('trigger_type', sa.Enum('WEBHOOK', 'POLLING', 'SCHEDULE', 'MANUAL', name='trigger_type'), nullable=False),
    sa.Column('trigger_config', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('steps', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('icon', sa.Text(), nullable=True),
    sa.Column('tags', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.Column('is_popular', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('usage_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('required_integrations', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('workflow_templates_pkey'))
    )
    op.create_table('workspaces',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('plan', sa.Enum('FREE', 'STARTER', 'PROFESSIONAL', 'ENTERPRISE', name='plan'), server_default=sa.text("'FREE'"), nullable=False),
    sa.Column('max_workflows', sa.Integer(), server_default=sa.text('5'), nullable=False),
    sa.Column('max_executions', sa.Integer(), server_default=sa.text('1000'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('workspaces_pkey')),
    sa.UniqueConstraint('slug', name=op.f('workspaces_slug_key'))
    )
    op.create_table('actions',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('integration_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('input_schema', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('output_schema', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('actions_integration_id_fkey'), onupdate='CASCADE', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('actions_pkey'))
    )
    op.create_index('actions_integration_id_idx', 'actions', ['integration_id'], unique=False)
    op.create_table('api_keys',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('user_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('scopes', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('api_keys_user_id_fkey'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('api_keys_pkey')),
    sa.UniqueConstraint('key', name=op.f('api_keys_key_key'))
    )
    op.create_index('api_keys_user_id_idx', 'api_keys', ['user_id'], unique=False)
    op.create_table('connections',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('user_id', sa.Text(), nullable=False),
    sa.Column('workspace_id', sa.Text(), nullable=False),
    sa.Column('integration_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('credentials', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=True),
    sa.Column('refresh_token', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_tested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('test_status', sa.Enum('PENDING', 'SUCCESS', 'FAILED', name='test_status'), server_default=sa.text("'PENDING'"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('connections_integration_id_fkey'), onupdate='CASCADE', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('connections_user_id_fkey'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('connections_workspace_id_fkey'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('connections_pkey'))
    )
    op.create_index('connections_integration_id_idx', 'connections', ['integration_id'], unique=False)
    op.create_index('connections_user_id_idx', 'connections', ['user_id'], unique=False)
    op.create_index('idx_connections_user_integration', 'connections', ['user_id', 'integration_id'], unique=False)
    op.create_index('idx_connections_workspace', 'connections', ['workspace_id'], unique=False)
    op.create_table('triggers',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('integration_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('type', sa.Enum('WEBHOOK', 'POLLING', 'SCHEDULE', 'MANUAL', name='trigger_type'), nullable=False),
    sa.Column('config_schema', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('polling_interval', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('triggers_integration_id_fkey'), onupdate='CASCADE', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('triggers_pkey'))
    )
    op.create_index('triggers_integration_id_idx', 'triggers', ['integration_id'], unique=False)
    op.create_table('workspace_members',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('workspace_id', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Text(), nullable=False),
    sa.Column('role', sa.Enum('OWNER', 'ADMIN', 'MEMBER', 'VIEWER', name='workspace_role'), server_default=sa.text("'MEMBER'"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('workspace_members_user_id_fkey'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('workspace_members_workspace_id_fkey'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('workspace_members_pkey')),
    sa.UniqueConstraint('workspace_id', 'user_id', name=op.f('workspace_members_workspace_id_user_id_key'))
    )
    op.create_index('workspace_members_user_id_idx', 'workspace_members', ['user_id'], unique=False)
    op.create_index('workspace_members_workspace_id_idx', 'workspace_members', ['workspace_id'], unique=False)
    op.create_table('workflows',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('workspace_id', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('trigger_type', sa.Enum('WEBHOOK', 'POLLING', 'SCHEDULE', 'MANUAL', name='trigger_type'), nullable=False),
    sa.Column('trigger_config', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('connection_id', sa.Text(), nullable=True),
    sa.Column('steps', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_draft', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('tags', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.Column('folder', sa.Text(), nullable=True),
    sa.Column('total_executions', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('successful_executions', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('failed_executions', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_executed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('workflows_connection_id_fkey'), onupdate='CASCADE', ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('workflows_user_id_fkey'), onupdate='CASCADE', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('workflows_workspace_id_fkey'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('workflows_pkey'))
    )
    op.create_index('idx_workflows_last_executed', 'workflows', [sa.literal_column('last_executed_at DESC')], unique=False)
    op.create_index('idx_workflows_user', 'workflows', ['user_id'], unique=False)
    op.create_index('idx_workflows_workspace_active', 'workflows', ['workspace_id', 'is_active'], unique=False)
    op.create_index('workflows_is_active_idx', 'workflows', ['is_active'], unique=False)
    op.create_index('workflows_workspace_id_idx', 'workflows', ['workspace_id'], unique=False)
    op.create_table('webhooks',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('workflow_id', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('total_calls', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_called_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('webhooks_workflow_id_fkey'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('webhooks_pkey')),
    sa.UniqueConstraint('token', name=op.f('webhooks_token_key')),
    sa.UniqueConstraint('url', name=op.f('webhooks_url_key'))
    )
    op.create_index('webhooks_workflow_id_idx', 'webhooks', ['workflow_id'], unique=False)
    op.create_table('workflow_executions',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('workflow_id', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'CANCELLED', 'TIMEOUT', name='execution_status'), server_default=sa.text("'PENDING'"), nullable=False),
    sa.Column('trigger_data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('context', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.Column('retry_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('max_retries', sa.Integer(), server_default=sa.text('3'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('workflow_executions_workflow_id_fkey'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('workflow_executions_pkey'))
    )
    op.create_index('idx_executions_created', 'workflow_executions', [sa.literal_column('created_at DESC')], unique=False)
    op.create_index('idx_executions_status', 'workflow_executions', ['status'], unique=False)
    op.create_index('idx_executions_workflow_created', 'workflow_executions', ['workflow_id', sa.literal_column('created_at DESC')], unique=False)
    op.create_index('workflow_executions_workflow_id_idx', 'workflow_executions', ['workflow_id'], unique=False)
    op.create_table('workflow_versions',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('workflow_id', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('trigger_type', sa.Enum('WEBHOOK', 'POLLING', 'SCHEDULE', 'MANUAL', name='trigger_type'), nullable=False),
    sa.Column('trigger_config', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('steps', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('change_description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('workflow_versions_workflow_id_fkey'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('workflow_versions_pkey')),
    sa.UniqueConstraint('workflow_id', 'version', name=op.f('workflow_versions_workflow_id_version_key'))
    )
    op.create_index('workflow_versions_workflow_id_idx', 'workflow_versions', ['workflow_id'], unique=False)
    op.create_table('step_executions',
    sa.Column('id', sa.Text(), server_default=sa.text('gen_random_uuid()::text'), nullable=False),
    sa.Column('execution_id', sa.Text(), nullable=False),
    sa.Column('step_id', sa.Text(), nullable=False),
    sa.Column('step_type', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'CANCELLED', 'TIMEOUT', name='execution_status'), server_default=sa.text("'PENDING'"), nullable=False),
    sa.Column('input', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('output', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.Column('retry_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['execution_id'], ['workflow_executions.id'], name=op.f('step_executions_execution_id_fkey'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('step_executions_pkey'))
    )
    op.create_index('step_executions_execution_id_idx', 'step_executions', ['execution_id'], unique=False)

    op.execute(
        """
        CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.updated_at := now();
            RETURN NEW;
        END;
        $$
        """
    )
    for table in UPDATED_AT_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_set_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )


def downgrade() -> None:
    op.drop_index('step_executions_execution_id_idx', table_name='step_executions')
    op.drop_table('step_executions')
    op.drop_index('workflow_versions_workflow_id_idx', table_name='workflow_versions')
    op.drop_table('workflow_versions')
    op.drop_index('workflow_executions_workflow_id_idx', table_name='workflow_executions')
    op.drop_index('idx_executions_workflow_created', table_name='workflow_executions')
    op.drop_index('idx_executions_status', table_name='workflow_executions')
    op.drop_index('idx_executions_created', table_name='workflow_executions')
    op.drop_table('workflow_executions')
    op.drop_index('webhooks_workflow_id_idx', table_name='webhooks')
    op.drop_table('webhooks')
    op.drop_index('workflows_workspace_id_idx', table_name='workflows')
    op.drop_index('workflows_is_active_idx', table_name='workflows')
    op.drop_index('idx_workflows_workspace_active', table_name='workflows')
    op.drop_index('idx_workflows_user', table_name='workflows')
    op.drop_index('idx_workflows_last_executed', table_name='workflows')
    op.drop_table('workflows')
    op.drop_index('workspace_members_workspace_id_idx', table_name='workspace_members')
    op.drop_index('workspace_members_user_id_idx', table_name='workspace_members')
    op.drop_table('workspace_members')
    op.drop_index('triggers_integration_id_idx', table_name='triggers')
    op.drop_table('triggers')
    op.drop_index('idx_connections_workspace', table_name='connections')
    op.drop_index('idx_connections_user_integration', table_name='connections')
    op.drop_index('connections_user_id_idx', table_name='connections')
    op.drop_index('connections_integration_id_idx', table_name='connections')
    op.drop_table('connections')
    op.drop_index('api_keys_user_id_idx', table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_index('actions_integration_id_idx', table_name='actions')
    op.drop_table('actions')
    op.drop_table('workspaces')
    op.drop_table('workflow_templates')
    op.drop_table('users')
    op.drop_table('integrations')
    op.drop_index('idx_audit_workspace_created', table_name='audit_logs')
    op.drop_index('idx_audit_entity', table_name='audit_logs')
    op.drop_index('audit_logs_workspace_id_idx', table_name='audit_logs')
    op.drop_index('audit_logs_user_id_idx', table_name='audit_logs')
    op.drop_index('audit_logs_created_at_idx', table_name='audit_logs')
    op.drop_table('audit_logs')
    op.execute("DROP FUNCTION IF EXISTS set_updated_at()")
    for enum_name in ENUM_TYPES:
        op.execute(f"DROP TYPE IF EXISTS {enum_name}")
