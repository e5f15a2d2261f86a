"""kutip's Gradio chat UI (``kutip ui``)."""
