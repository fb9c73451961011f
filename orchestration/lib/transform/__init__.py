"""What the pipeline works out about its dbt models after they are built: ``column_lineage``."""
