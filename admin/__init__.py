"""The web desk (issue 8): clerks review, correct and classify calls in the browser.

`admin.app.create_app(settings, sessions, content)` builds a Flask application from
the services the composition root passes in; one blueprint per area, as in the Flask
tutorial (flaskr).
"""
