"""Large, realistic inputs for the benchmark: one long migration and a wide Terraform tree.

Both are deterministic (a fixed random seed), so every run measures the same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

COLUMNS = ["id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "name text NOT NULL",
           "email text", "created_at timestamptz NOT NULL DEFAULT now()", "amount numeric(12,2)",
           "status text CHECK (status IN ('new', 'paid', 'void'))", "payload jsonb",
           "tenant_id integer NOT NULL", "deleted boolean DEFAULT false"]


def _create_table(rng: random.Random, n: int) -> str:
    columns = ",\n  ".join(rng.sample(COLUMNS[1:], rng.randint(3, 7)))
    return f"CREATE TABLE IF NOT EXISTS t{n % 500} (\n  {COLUMNS[0]},\n  {columns}\n);"


def _insert(rng: random.Random, n: int) -> str:
    rows = ",\n  ".join(
        f"({rng.randint(1, 10**6)}, 'customer {i}; it''s \"quoted\"', {rng.random() * 1000:.2f})"
        for i in range(rng.randint(1, 4)))
    return f"INSERT INTO t{n % 500} (tenant_id, name, amount) VALUES\n  {rows};"


def _index(rng: random.Random, n: int) -> str:
    column = rng.choice(["tenant_id", "created_at", "email", "lower(email)"])
    return f"CREATE INDEX IF NOT EXISTS t{n % 500}_idx_{n} ON t{n % 500} ({column});"


def _alter_table(rng: random.Random, n: int) -> str:
    return rng.choice([
        f"ALTER TABLE t{n % 500} ADD COLUMN IF NOT EXISTS note_{n} text DEFAULT 'n/a';",
        f"ALTER TABLE t{n % 500} ALTER COLUMN name SET NOT NULL;",
        f"ALTER TABLE t{n % 500} ADD CONSTRAINT t{n % 500}_c{n} CHECK (tenant_id > 0) NOT VALID;",
    ])


def _update(rng: random.Random, n: int) -> str:
    return (f"UPDATE t{n % 500} SET status = 'paid', amount = amount * 1.{rng.randint(1, 9)} "
            f"WHERE tenant_id = {rng.randint(1, 999)} AND created_at < now() - interval '30 days';")


def _comment(rng: random.Random, n: int) -> str:
    return f"COMMENT ON TABLE t{n % 500} IS 'Table {n}: holds rows; see docs/{n}.md';"


def _function(rng: random.Random, n: int) -> str:
    return (f"CREATE OR REPLACE FUNCTION touch_{n}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
            "BEGIN\n  NEW.created_at := now();\n  RETURN NEW;\nEND;\n$fn$;")


def _grant_object(rng: random.Random, n: int) -> str:
    return f"GRANT SELECT, INSERT ON TABLE t{n % 500} TO app_{n % 40};"


def _role(rng: random.Random, n: int) -> str:
    name = f"app_{n % 40}"
    return rng.choice([
        f"CREATE ROLE {name}_{n} LOGIN CONNECTION LIMIT {rng.randint(5, 50)};",
        f"ALTER ROLE {name} CONNECTION LIMIT {rng.randint(5, 50)};",
        f"ALTER ROLE {name} SET idle_in_transaction_session_timeout = '60s';",
        f"CREATE USER {name}_{n} WITH PASSWORD NULL;",
        f"GRANT readers TO {name};",
        f"DO $$\nBEGIN\n  EXECUTE format('CREATE ROLE %I NOLOGIN', 'group_{n}');\nEND\n$$;",
    ])


def _misc(rng: random.Random, n: int) -> str:
    return rng.choice([
        "SET statement_timeout = '5min';",
        f"CREATE OR REPLACE VIEW v{n} AS SELECT id, name FROM t{n % 500} WHERE NOT deleted;",
        f"-- migration step {n}; nothing to see\nSELECT pg_catalog.set_config('search_path', "
        "'public', false);",
    ])


SQL_MIX: list[tuple[Callable[[random.Random, int], str], int]] = [
    (_insert, 30), (_create_table, 12), (_index, 10), (_alter_table, 10), (_update, 10),
    (_comment, 5), (_function, 5), (_grant_object, 8), (_role, 2), (_misc, 8),
]


def write_migration(path: Path, statements: int = 50_000) -> None:
    rng = random.Random(50_000)
    makers = [maker for maker, weight in SQL_MIX for _ in range(weight)]
    with path.open("w", encoding="utf-8") as handle:
        handle.write("CREATE ROLE readers NOLOGIN;\n")
        for n in range(statements - 1):
            handle.write(rng.choice(makers)(rng, n) + "\n")


def _stack(n: int, rng: random.Random) -> dict[str, str]:
    """One service's Terraform: a database, its parameters, an ECS service and its roles."""
    pool, tasks = rng.choice([5, 10, 20]), rng.randint(2, 40)
    return {
        "versions.tf": f"""terraform {{
  required_version = ">= 1.5"
  required_providers {{
    aws        = {{ source = "hashicorp/aws", version = "~> 5.0" }}
    postgresql = {{ source = "cyrilgdn/postgresql", version = "~> 1.21" }}
  }}
}}

provider "postgresql" {{
  host     = aws_db_instance.db{n}.address
  username = "postgres"
  sslmode  = "require"
}}
""",
        "variables.tf": f"""variable "instance_class" {{
  type    = string
  default = "{rng.choice(["db.t3.medium", "db.r6g.large", "db.m5.xlarge"])}"
}}

variable "max_tasks" {{
  type    = number
  default = {tasks}
}}

variable "environment" {{
  type    = string
  default = "production"
}}
""",
        "rds.tf": f"""resource "aws_db_parameter_group" "db{n}" {{
  name   = "db{n}-${{var.environment}}"
  family = "postgres15"

  parameter {{
    name         = "max_connections"
    value        = "{rng.choice([100, 200, 400])}"
    apply_method = "pending-reboot"
  }}

  parameter {{
    name  = "idle_in_transaction_session_timeout"
    value = "60000"
  }}
}}

resource "aws_db_instance" "db{n}" {{
  identifier           = "db{n}-${{var.environment}}"
  engine               = "postgres"
  engine_version       = "15.5"
  instance_class       = var.instance_class
  allocated_storage    = 100
  parameter_group_name = aws_db_parameter_group.db{n}.name
  skip_final_snapshot  = true
  tags = {{
    Service = "api{n}"
  }}
}}
""",
        "ecs.tf": f"""resource "aws_ecs_task_definition" "api{n}" {{
  family                = "api{n}"
  cpu                   = 512
  memory                = 1024
  container_definitions = jsonencode([{{
    name      = "api{n}"
    image     = "example/api{n}:1.{n}"
    essential = true
    environment = [
      {{ name = "DATABASE_HOST", value = aws_db_instance.db{n}.address }},
      {{ name = "PG_POOL_SIZE", value = "{pool}" }},
      {{ name = "WEB_CONCURRENCY", value = "2" }},
    ]
  }}])
}}

resource "aws_ecs_service" "api{n}" {{
  name                       = "api{n}"
  cluster                    = "main"
  task_definition            = aws_ecs_task_definition.api{n}.arn
  desired_count              = 2
  deployment_maximum_percent = 200
}}

resource "aws_appautoscaling_target" "api{n}" {{
  service_namespace  = "ecs"
  resource_id        = "service/main/api{n}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = 2
  max_capacity       = var.max_tasks
}}

resource "aws_appautoscaling_policy" "api{n}_cpu" {{
  name               = "api{n}-cpu"
  policy_type        = "TargetTrackingScaling"
  resource_id        = aws_appautoscaling_target.api{n}.resource_id
  scalable_dimension = aws_appautoscaling_target.api{n}.scalable_dimension
  service_namespace  = aws_appautoscaling_target.api{n}.service_namespace

  target_tracking_scaling_policy_configuration {{
    target_value = 60
    predefined_metric_specification {{
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }}
  }}
}}
""",
        "roles.tf": f"""resource "postgresql_role" "api{n}" {{
  name                                = "api{n}"
  login                               = true
  connection_limit                    = {pool * 2 + 10}
  idle_in_transaction_session_timeout = 60000
}}

resource "postgresql_role" "reporting{n}" {{
  name  = "reporting{n}"
  login = true
}}
""",
    }


def _checkout(root: Path) -> None:
    """Make `root` a repository's top, as a user's checkout is: a scan of it then reads (and
    fingerprints, for the run cache) that tree, not the repository the benchmark runs in."""
    (root / ".git").mkdir(parents=True, exist_ok=True)


def write_terraform_tree(root: Path, files: int = 2_000) -> None:
    rng = random.Random(2_000)
    _checkout(root)
    per_stack = len(_stack(0, rng))
    for n in range(files // per_stack):
        directory = root / f"stack{n:04d}"
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in _stack(n, rng).items():
            (directory / name).write_text(text, encoding="utf-8")


_MODULES = {
    "database": {
        "variables.tf": """variable "name" {
  type = string
}

variable "instance_class" {
  type    = string
  default = "db.r6g.large"
}

variable "max_connections" {
  type    = number
  default = 400
}
""",
        "main.tf": """resource "aws_db_parameter_group" "this" {
  name   = var.name
  family = "postgres15"

  parameter {
    name         = "max_connections"
    value        = tostring(var.max_connections)
    apply_method = "pending-reboot"
  }
}

resource "aws_db_instance" "this" {
  identifier           = var.name
  engine               = "postgres"
  instance_class       = var.instance_class
  parameter_group_name = aws_db_parameter_group.this.name
}
""",
        "outputs.tf": """output "address" {
  value = aws_db_instance.this.address
}
""",
    },
    "service": {
        "variables.tf": """variable "name" {
  type = string
}

variable "database_host" {
  type = string
}

variable "pool_size" {
  type    = number
  default = 10
}

variable "max_tasks" {
  type    = number
  default = 4
}
""",
        "main.tf": """locals {
  environment = [
    { name = "DATABASE_HOST", value = var.database_host },
    { name = "PG_POOL_SIZE", value = tostring(var.pool_size) },
  ]
}

resource "aws_ecs_task_definition" "this" {
  family = var.name
  container_definitions = jsonencode([{
    name        = var.name
    image       = "example/${var.name}:1"
    environment = local.environment
  }])
}

resource "aws_ecs_service" "this" {
  name            = var.name
  cluster         = "main"
  task_definition = aws_ecs_task_definition.this.arn
  desired_count   = 2
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/main/${var.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = 2
  max_capacity       = var.max_tasks
}
""",
        "outputs.tf": """output "name" {
  value = aws_ecs_service.this.name
}
""",
    },
}


def _root(n: int, rng: random.Random) -> dict[str, str]:
    """One environment: a database and two services from the local modules."""
    services = "\n".join(f"""module "svc{k}" {{
  source        = "../../modules/service"
  name          = "env{n}-svc{k}"
  database_host = module.db.address
  pool_size     = var.pool_size
  max_tasks     = {rng.randint(2, 12)}
}}
""" for k in range(2))
    return {
        "main.tf": f"""module "db" {{
  source          = "../../modules/database"
  name            = "env{n}"
  max_connections = var.max_connections
}}

{services}""",
        "variables.tf": """variable "pool_size" {
  type = number
}

variable "max_connections" {
  type = number
}
""",
        "terraform.tfvars": f"""pool_size       = {rng.choice([5, 10, 20])}
max_connections = {rng.choice([100, 200, 400])}
""",
        "versions.tf": """terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}
""",
        "backend.tf": f"""terraform {{
  backend "s3" {{
    bucket = "state"
    key    = "env{n}.tfstate"
  }}
}}
""",
    }


def write_module_tree(root: Path, files: int = 400) -> None:
    """A real tree's shape: many root modules (one per environment) calling local modules."""
    rng = random.Random(400)
    _checkout(root)
    for module, texts in _MODULES.items():
        directory = root / "modules" / module
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (directory / name).write_text(text, encoding="utf-8")
    shared = sum(len(texts) for texts in _MODULES.values())
    per_root = len(_root(0, rng))
    for n in range((files - shared) // per_root):
        directory = root / "envs" / f"env{n:03d}"
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in _root(n, rng).items():
            (directory / name).write_text(text, encoding="utf-8")
