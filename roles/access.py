"""The view decorator that applies the permission map and tenant scope to every route."""

from functools import wraps

from flask import abort
from flask_login import current_user

from core.db import get_session
from core.extensions import login_manager
from roles.models import Person
from roles.permissions import Permission
from roles.scoping import scoped_people

#: What `requires` loads from a URL: argument -> (the view's argument, model, scoped query).
_LOADERS = {"person_id": ("person", Person, scoped_people)}


def load_in_scope(arg: str, name: str, model, scope) -> None:
    """Have `requires` load `model` named by the URL's `arg`, only from `scope(actor)`, and pass
    it to the view as `name`. The packages above name their own objects this way (partners and
    programs: `channel.scoping.connect_scopes`), so this one imports none of them."""
    _LOADERS[arg] = (name, model, scope)


def requires(permission: Permission):
    """Sign-in required; objects named in the URL are loaded within the actor's scope.

    An id outside the actor's scope answers 404 whatever the permission, so another
    partner's ids reveal nothing; an object in scope without the permission answers 403.
    The loaded objects reach the view as `partner=` / `person=` instead of their ids.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(**kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            session = get_session()
            for arg, (name, model, scope) in _LOADERS.items():
                if arg in kwargs:
                    obj = session.scalar(scope(current_user).where(model.id == kwargs.pop(arg)))
                    if obj is None:
                        abort(404)
                    kwargs[name] = obj
            if not current_user.can(permission):
                abort(403)
            return view(**kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorator
