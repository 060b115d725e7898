"""The answer page's signed link: it names one survey and one person, needs no sign-in, and
is worth nothing once the survey closes (the page checks the close, the token has no age)."""

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "survey-link"


@dataclass(frozen=True)
class SurveyLinks:
    secret: str
    #: PUBLIC_URL: links in messages never come from a request.
    base_url: str

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret, salt=SALT)

    def token(self, survey_id: int, person_id: int) -> str:
        return self._serializer().dumps([survey_id, person_id])

    def url(self, survey_id: int, person_id: int) -> str:
        return f"{self.base_url.rstrip('/')}/q/{self.token(survey_id, person_id)}"

    def read(self, token: str) -> tuple[int, int] | None:
        """(survey id, person id) of a genuine token, else None."""
        try:
            value = self._serializer().loads(token or "")
        except BadSignature:
            return None
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            return None
        return value[0], value[1]
