"""Report writing: collects result objects from pytest and turns them into a summary."""
