from builder import create_app

app = create_app()
