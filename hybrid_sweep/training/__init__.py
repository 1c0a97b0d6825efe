"""Training room: the plan (data, languages, sampler), the LightningModule and DataModule, losses, GradCache."""
