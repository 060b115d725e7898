"""The demo holds a survey answered in several languages, loaded once by `flask seed-demo`."""

from sqlalchemy import func, select

from messaging.surveys.models import InvitationState, Survey, SurveyInvitation, SurveyResponse


def test_seed_demo_loads_a_survey_answered_in_several_languages_once(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "8 new survey responses" in result.output
    survey = db.scalar(select(Survey).where(Survey.name == "Winter pulse"))
    languages = set(
        db.scalars(select(SurveyResponse.language).where(SurveyResponse.survey_id == survey.id))
    )
    assert languages == {"lv", "ru", "pl", "he", "fa"}
    assert {t.language for t in survey.texts} == {"en", "lv", "ru", "pl", "he", "fa"}
    asking = db.scalar(
        select(func.count(SurveyInvitation.id)).where(
            SurveyInvitation.survey_id == survey.id,
            SurveyInvitation.state == InvitationState.ASKING,
        )
    )
    assert asking == 1
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert db.scalar(select(func.count(SurveyResponse.id))) == 8
