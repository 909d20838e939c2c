from guanxi.api.tests.conftest import anonymous, api_as  # noqa: F401  (the API's fixtures)
