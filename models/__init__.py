"""SQLAlchemy models of Pulseboard (SPEC section 3). Plain SQLAlchemy 2.0: no Flask here."""
from models.accounts import (
    ROLES,
    ApiToken,
    AuditEvent,
    ImportJob,
    ImportMapping,
    User,
    user_platforms,
    utcnow,
)
from models.base import Base
from models.catalog import PLATFORM_KINDS, Customer, Platform, Product
from models.customer_scores import CustomerScore
from models.import_changes import IMPORT_ROW_CHANGES
from models.imports_replaced import REPLACED_LINES, REPLACED_ORDERS
from models.marketing import (
    PAYOUT_BASES,
    PAYOUT_STATUSES,
    POST_TYPES,
    Campaign,
    FunnelDay,
    Influencer,
    MediaPost,
    Payout,
    Tracking,
)
from models.model_runs import MODEL_RUN_STATUSES, DataRevision, ModelRun
from models.pipeline import OUTCOMES, STAGES, Account, Opportunity, SalesRep, StageChange
from models.rollups import (
    CustomerDay,
    CustomerSetDay,
    CustomerSetMonth,
    ProductDay,
    ProductMonth,
    SalesDay,
    SalesHour,
)
from models.sales import Order, OrderLine
from models.settings import BusinessSetting
from models.subscriptions import (
    ALERT_KINDS,
    FREQUENCIES,
    TOKEN_PURPOSES,
    AccountToken,
    Alert,
    Delivery,
    Subscription,
)
from models.views import SHARINGS, THEMES, SavedView

__all__ = [
    "Base", "Platform", "Product", "Customer", "Order", "OrderLine", "MediaPost", "Influencer",
    "Campaign", "Tracking", "Payout", "FunnelDay", "Account", "SalesRep", "Opportunity",
    "StageChange", "User", "ApiToken", "AuditEvent", "ImportJob", "ImportMapping",
    "user_platforms", "utcnow", "SalesDay", "SalesHour", "ProductMonth",
    "CustomerDay", "CustomerSetDay", "CustomerSetMonth", "ProductDay", "BusinessSetting",
    "ROLES", "PLATFORM_KINDS", "POST_TYPES", "PAYOUT_BASES", "PAYOUT_STATUSES", "STAGES",
    "OUTCOMES", "SavedView", "SHARINGS", "THEMES", "DataRevision", "ModelRun",
    "MODEL_RUN_STATUSES", "CustomerScore",
    "REPLACED_ORDERS", "REPLACED_LINES", "IMPORT_ROW_CHANGES",
    "Subscription", "Alert", "Delivery", "AccountToken", "FREQUENCIES", "ALERT_KINDS",
    "TOKEN_PURPOSES",
]
