# The incident: the api service autoscales from 5 to 38 tasks, each opening a pool of 10
# connections, against a db.t3.medium whose parameter group sets max_connections = 170.

resource "aws_db_parameter_group" "main" {
  name   = "app-postgres16"
  family = "postgres16"

  parameter {
    name         = "max_connections"
    value        = "170"
    apply_method = "pending-reboot"
  }
}

resource "aws_db_instance" "main" {
  identifier                  = "app"
  engine                      = "postgres"
  engine_version              = "16.3"
  instance_class              = "db.t3.medium"
  allocated_storage           = 50
  parameter_group_name        = aws_db_parameter_group.main.name
  username                    = "app_admin"
  manage_master_user_password = true
}

resource "aws_ecs_cluster" "main" {
  name = "app"
}

resource "aws_ecs_task_definition" "api" {
  family = "api"
  container_definitions = jsonencode([
    {
      name  = "api"
      image = "example/api:1.42.0"
      environment = [
        { name = "DATABASE_HOST", value = aws_db_instance.main.address },
        { name = "PG_POOL_SIZE", value = "10" },
      ]
      secrets = [
        { name = "DATABASE_PASSWORD", valueFrom = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-db" },
      ]
    }
  ])
}

resource "aws_ecs_service" "api" {
  name            = "api"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.api.arn
  desired_count   = 5
}

resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.api.name}"
  min_capacity       = 5
  max_capacity       = 38
}
