// Placeholder until the first helper lands; delete then.
