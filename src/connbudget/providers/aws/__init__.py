"""Amazon Web Services: RDS, Aurora and RDS Proxy, ECS, CloudWatch alarms, and the
terraform-aws-modules inputs; the data tables in data/ with their sources."""
