"""Domain exceptions; callbacks and the API turn them into user messages."""


class ServiceError(Exception):
    """Base class of errors a user can be told about."""


class InvalidInput(ServiceError):
    """The request or file is not valid; the message says why."""


class NotFound(ServiceError):
    """The requested object does not exist or is outside the user's scope."""


class AccessDenied(ServiceError):
    """The user may not do this."""
