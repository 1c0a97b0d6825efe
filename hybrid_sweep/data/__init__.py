"""Data room: LAReQA files in, typed records and train/eval protocols out."""
