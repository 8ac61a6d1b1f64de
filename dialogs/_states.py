"""Names of the dialog steps (stored in the database: never rename one)."""

MENU = "menu"
ASK = "ask"
ASK_PICK = "ask_pick"
ASK_FEEDBACK = "ask_feedback"
REPORT_CATEGORY = "report_category"
REPORT_DESCRIPTION = "report_description"
LOCATION = "location"
LOC_COUNTY = "loc_county"
LOC_TOWNSHIP = "loc_township"
LOC_VILLAGE = "loc_village"
LOC_CHOOSE = "loc_choose"
REPORT_PHONE = "report_phone"
REPORT_CONFIRM = "report_confirm"
CASES_LIST = "cases_list"
CASE_ADD = "case_add"
CASE_WITHDRAW = "case_withdraw"
RATE_COMMENT = "rate_comment"
RATE_AGAIN = "rate_again"

# Steps inside a report form: a danger told here goes on into the report.
REPORT_STEPS = frozenset(
    {
        REPORT_CATEGORY,
        REPORT_DESCRIPTION,
        LOCATION,
        LOC_COUNTY,
        LOC_TOWNSHIP,
        LOC_VILLAGE,
        LOC_CHOOSE,
        REPORT_PHONE,
        REPORT_CONFIRM,
    }
)
