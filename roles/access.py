"""The view decorator that applies the permission map and tenant scope to every route."""

from functools import wraps

from flask import abort
from flask_login import current_user

from channel.models import PartnerOrganization, Program
from core.db import get_session
from core.extensions import login_manager
from roles.models import Person
from roles.permissions import Permission
from roles.scoping import scoped_partners, scoped_people, scoped_programs

_LOADERS = {
    "partner_id": ("partner", PartnerOrganization, scoped_partners),
    "person_id": ("person", Person, scoped_people),
    "program_id": ("program", Program, scoped_programs),
}


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
