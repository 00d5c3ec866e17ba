"""What can be imported: each kind of file, its fields (columns) and their synonyms.

The one source of truth for the import wizard's mapping, the validation, the downloadable
templates and the column tables in docs/imports.md (`columns_markdown()`, kept identical by a
test).
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass

from models import OUTCOMES, PAYOUT_BASES, PAYOUT_STATUSES, POST_TYPES
from models.pipeline import STAGE_LENGTH

# Field types: how a cell is read (see services.imports.convert).
TEXT, INTEGER, NUMBER, DATETIME, DATE, BOOLEAN, CHOICE = (
    "text", "integer", "number", "datetime", "date", "boolean", "choice")


@dataclass(frozen=True)
class Field:
    """One column of a kind: how it is read, whether it is required and what it is called."""

    name: str
    label: str
    type: str = TEXT
    required: bool = False
    synonyms: tuple[str, ...] = ()
    help: str = ""
    example: str = ""
    max_length: int = 80
    choices: tuple[str, ...] = ()
    # Words other software writes for a choice: (their word, our choice), e.g. photo -> image.
    aliases: tuple[tuple[str, str], ...] = ()
    # Words that make a longer column name another thing's figure ("Page total likes" is the
    # page's, not the post's likes): such a column is never proposed by containment.
    not_within: tuple[str, ...] = ()
    minimum: float | None = 0
    maximum: float | None = None


@dataclass(frozen=True)
class Kind:
    """A kind of file: its fields, the key that identifies a row, and what a row becomes."""

    name: str
    label: str
    description: str
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ()
    # Groups of fields of which at least one must be mapped (e.g. a price or a line amount).
    one_of: tuple[tuple[str, ...], ...] = ()

    def field(self, name: str) -> Field:
        """The field called `name`."""
        return next(field for field in self.fields if field.name == name)

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the fields every file of this kind must have."""
        return tuple(field.name for field in self.fields if field.required)


MAX_QUANTITY = 10_000_000  # per line: more is a typo or a unit mix-up, not a sale
MAX_MONEY = 1_000_000_000  # per unit: the money columns hold 10 digits before the point


def _platform(required: bool = True, help_: str = "") -> Field:
    return Field("platform", "Platform", required=required,
                 synonyms=("platform", "channel", "sales channel", "network", "social network",
                           "marketplace", "source", "store"),
                 help="Platform name, e.g. Instagram; a new name creates the platform." + help_,
                 example="Instagram")


def _count(name: str, label: str, synonyms: tuple[str, ...], required: bool = False,
           not_within: tuple[str, ...] = ()) -> Field:
    return Field(name, label, INTEGER, required, synonyms, maximum=10**12, example="120",
                 not_within=not_within)


# The post types of Facebook, Instagram, TikTok and YouTube exports, as ours. A link post and a
# status update are text posts; a photo album is a carousel. "IG reel", "FB photo": the
# network's prefix is ignored.
POST_TYPE_WORDS: tuple[tuple[str, str], ...] = (
    ("photo", "image"), ("picture", "image"), ("status", "text"), ("link", "text"),
    ("album", "carousel"), ("live video", "live"), ("igtv", "video"))
_NETWORK_PREFIXES = ("ig", "fb", "instagram", "facebook")
POST_TYPE_ALIASES: tuple[tuple[str, str], ...] = POST_TYPE_WORDS + tuple(
    (f"{prefix} {word}", ours) for prefix in _NETWORK_PREFIXES
    for word, ours in (*POST_TYPE_WORDS, *((choice, choice) for choice in POST_TYPES)))
# A page's or account's own figure (Page total likes, Account followers), not a post's.
_NOT_THE_POST = ("page", "account", "profile")


SALES = Kind(
    "sales", "Sales (order lines)",
    "One row per order line: an order number, a date, a product and a quantity, with a unit "
    "price or a line amount. Returns and cancellations have a negative quantity.",
    (
        Field("order_number", "Order number", required=True, max_length=64,
              synonyms=("order id", "order number", "order no", "order", "invoice", "invoice no",
                        "invoice number", "invoiceno", "transaction id", "receipt",
                        "receipt number", "sales order"),
              example="SO-10001"),
        Field("ordered_at", "Order date", DATETIME, required=True,
              synonyms=("order date", "date", "invoice date", "invoicedate", "ordered at",
                        "order time", "created at", "created", "timestamp", "purchase date",
                        "sale date", "transaction date"),
              help="Date or date and time, local to the business time zone.",
              example="2024-03-01 14:05"),
        Field("sku", "Product SKU", max_length=64,
              synonyms=("sku", "product id", "stock code", "stockcode", "item code",
                        "product code", "item id", "item number", "asin", "article number"),
              help="Product code; when absent the product name is used as the code.",
              example="TEA-001"),
        Field("product_name", "Product name", max_length=255,
              synonyms=("product name", "description", "product", "item", "item name",
                        "title", "product title", "item description"),
              example="Green tea 100 g"),
        Field("category", "Category",
              synonyms=("category", "product category", "department", "product type"),
              example="Tea"),
        Field("subcategory", "Sub-category",
              synonyms=("sub-category", "subcategory", "sub category", "product subcategory"),
              example="Green tea"),
        Field("quantity", "Quantity", INTEGER, required=True, minimum=-MAX_QUANTITY,
              maximum=MAX_QUANTITY,
              synonyms=("quantity", "qty", "units", "quantity ordered", "count", "pieces"),
              help="Whole units; negative for a return or cancellation, never 0.",
              example="2"),
        Field("unit_price", "Unit price", NUMBER, minimum=-MAX_MONEY, maximum=MAX_MONEY,
              synonyms=("unit price", "price", "unitprice", "item price", "price each",
                        "rate", "selling price"),
              help="Price of one unit; give this or the line amount.", example="4.50"),
        Field("amount", "Line amount", NUMBER, minimum=-MAX_MONEY * MAX_QUANTITY,
              maximum=MAX_MONEY * MAX_QUANTITY,
              synonyms=("sales", "amount", "line total", "total", "revenue", "line amount",
                        "net sales", "subtotal", "total price", "sales amount", "value"),
              help="Quantity × price after discount; the unit price is derived from it.",
              example="9.00"),
        Field("discount", "Discount", NUMBER, maximum=100,
              synonyms=("discount", "discount rate", "discount %", "discount percent"),
              help="A rate (0.2 or 20 for 20 %); applied to a unit price, not to a line "
                   "amount (amounts are already net).", example="0"),
        Field("profit", "Profit", NUMBER, minimum=-MAX_MONEY * MAX_QUANTITY,
              maximum=MAX_MONEY * MAX_QUANTITY,
              synonyms=("profit", "gross profit", "margin amount"),
              help="Line profit; the unit cost is derived from it.", example="3.10"),
        Field("unit_cost", "Unit cost", NUMBER, maximum=MAX_MONEY,
              synonyms=("unit cost", "cost", "cogs", "cost price", "cost per unit"),
              help="Cost of one unit; without it the product's catalogue cost is used.",
              example="2.00"),
        Field("customer_id", "Customer ID", max_length=64,
              synonyms=("customer id", "customerid", "customer", "customer number",
                        "client id", "buyer id", "customer no", "customer code"),
              help="Empty for a guest.", example="C-1001"),
        Field("customer_name", "Customer name", max_length=255,
              synonyms=("customer name", "client name", "buyer name", "name"),
              example="Ada Lovelace"),
        Field("segment", "Segment", max_length=40,
              synonyms=("segment", "customer segment", "customer type"), example="Consumer"),
        Field("country", "Country", synonyms=("country", "country/region", "ship country",
                                              "billing country"), example="United Kingdom"),
        Field("region", "Region", synonyms=("region", "sales region", "territory"),
              example="Europe"),
        Field("state", "State / province", synonyms=("state", "province", "county",
                                                     "state/province"), example="Kent"),
        Field("city", "City", synonyms=("city", "town", "ship city"), example="Canterbury"),
        _platform(required=False),
        Field("ship_mode", "Ship mode", max_length=40,
              synonyms=("ship mode", "shipping method", "shipping mode", "delivery method",
                        "shipping"), example="Standard"),
        Field("line_id", "Line ID", max_length=64,
              synonyms=("row id", "line id", "line number", "line no", "order line id",
                        "line item id"),
              help="Identifies a line within its order; used only to find duplicate lines.",
              example="1"),
    ),
    key=("order_number",),
    one_of=(("unit_price", "amount"), ("sku", "product_name")),
)

PRODUCTS = Kind(
    "products", "Product catalogue",
    "One row per product; an existing SKU is updated with the columns the file has.",
    (
        Field("sku", "SKU", required=True, max_length=64,
              synonyms=("sku", "product id", "stock code", "stockcode", "item code",
                        "product code", "code"), example="TEA-001"),
        Field("name", "Name", required=True, max_length=255,
              synonyms=("name", "product name", "description", "title", "product"),
              example="Green tea 100 g"),
        Field("category", "Category", synonyms=("category", "product category", "department"),
              example="Tea"),
        Field("subcategory", "Sub-category",
              synonyms=("sub-category", "subcategory", "sub category"), example="Green tea"),
        Field("brand", "Brand", synonyms=("brand", "manufacturer", "vendor", "maker"),
              example="Leafworks"),
        Field("unit_cost", "Unit cost", NUMBER, maximum=MAX_MONEY,
              synonyms=("unit cost", "cost", "cogs", "cost price", "purchase price"),
              help="Empty when unknown (profit is then shown as n/a, never guessed).",
              example="2.00"),
        Field("list_price", "List price", NUMBER, maximum=MAX_MONEY,
              synonyms=("list price", "price", "unit price", "retail price", "rrp", "msrp"),
              example="4.50"),
        Field("active", "Active", BOOLEAN, synonyms=("active", "enabled", "status", "in stock"),
              help="yes/no, true/false, 1/0; default yes.", example="yes"),
        Field("is_merchandise", "Merchandise", BOOLEAN,
              synonyms=("merchandise", "is merchandise", "is product"),
              help="no for postage, fees and adjustment codes: their lines are kept but left "
                   "out of the sales metrics.", example="yes"),
    ),
    key=("sku",),
)

CUSTOMERS = Kind(
    "customers", "Customers",
    "One row per customer, identified by your customer ID.",
    (
        Field("customer_id", "Customer ID", required=True, max_length=64,
              synonyms=("customer id", "customerid", "customer", "client id", "id",
                        "customer number"), example="C-1001"),
        Field("name", "Name", max_length=255,
              synonyms=("name", "customer name", "client name", "full name"),
              example="Ada Lovelace"),
        Field("segment", "Segment", max_length=40,
              synonyms=("segment", "customer segment", "type", "tier"), example="SMB"),
        Field("country", "Country", synonyms=("country", "country/region"),
              example="United Kingdom"),
        Field("region", "Region", synonyms=("region", "state", "territory"), example="Europe"),
        Field("first_seen", "First seen", DATE,
              synonyms=("first seen", "first order date", "customer since", "created",
                        "signup date", "created at"), example="2024-01-15"),
        Field("platform", "Acquisition platform",
              synonyms=("acquisition platform", "acquisition channel", "source", "channel",
                        "platform"), example="Instagram"),
    ),
    key=("customer_id",),
)

INFLUENCERS = Kind(
    "influencers", "Influencers",
    "One row per creator, identified by their handle.",
    (
        Field("handle", "Handle", required=True,
              synonyms=("handle", "username", "influencer", "creator", "account"),
              example="@leafy_life"),
        Field("name", "Name", max_length=255, synonyms=("name", "full name", "creator name"),
              example="Lea Fontaine"),
        _platform(),
        Field("followers", "Followers", INTEGER, maximum=10**10,
              synonyms=("followers", "follower count", "audience", "subscribers"),
              example="48000"),
        Field("niche", "Niche", synonyms=("niche", "topic", "category"), example="wellness"),
    ),
    key=("handle",),
)

POSTS = Kind(
    "posts", "Media posts",
    "One row per post with its engagement counts, identified by the post ID.",
    (
        Field("post_id", "Post ID", required=True,
              synonyms=("post id", "id", "media id", "post", "content id"),
              example="ig-10001"),
        _platform(required=False, help_=" Without this column every post goes to the "
                  "platform chosen on the page or with --platform."),
        Field("post_type", "Post type", CHOICE, required=True, choices=POST_TYPES,
              aliases=POST_TYPE_ALIASES,
              synonyms=("post type", "type", "media type", "format", "content type"),
              help="One of " + ", ".join(POST_TYPES) + " (any case; also "
                   + ", ".join(f"{word} as {ours}" for word, ours in POST_TYPE_WORDS)
                   + "; a prefix IG, FB, Instagram or Facebook is ignored).", example="reel"),
        Field("posted_at", "Posted at", DATETIME, required=True,
              synonyms=("posted at", "publish time", "published", "post date", "posted",
                        "date", "timestamp", "created"),
              help="Date and time; a file with only month, weekday and hour columns is "
                   "refused.", example="2024-03-01 18:30"),
        Field("caption", "Caption", max_length=2000,
              synonyms=("caption", "text", "description", "title", "message"),
              example="Morning ritual"),
        Field("sku", "Product SKU", max_length=64,
              synonyms=("sku", "product", "product id", "promoted product"), example="TEA-001"),
        Field("campaign", "Campaign", max_length=160, synonyms=("campaign", "campaign name"),
              example="Spring tea"),
        Field("influencer", "Influencer handle",
              synonyms=("influencer", "creator", "influencer handle"), example="@leafy_life"),
        _count("impressions", "Impressions", ("impressions", "views", "plays"),
               not_within=_NOT_THE_POST),
        _count("reach", "Reach", ("reach", "accounts reached", "unique views"),
               not_within=_NOT_THE_POST),
        _count("likes", "Likes", ("likes", "like", "reactions", "hearts"),
               not_within=_NOT_THE_POST),
        _count("comments", "Comments", ("comments", "comment", "replies"),
               not_within=_NOT_THE_POST),
        _count("shares", "Shares", ("shares", "share", "reposts", "retweets"),
               not_within=_NOT_THE_POST),
        _count("saves", "Saves", ("saves", "save", "bookmarks"), not_within=_NOT_THE_POST),
        Field("cost", "Cost", NUMBER, maximum=MAX_MONEY,
              synonyms=("cost", "spend", "amount spent", "fee"), example="150"),
    ),
    key=("post_id",),
)

TRACKING = Kind(
    "tracking", "Campaign tracking",
    "Daily clicks, orders and revenue attributed to a campaign (and its influencer or post). "
    "A row replaces the row of the same day, platform, campaign, influencer and post.",
    (
        Field("date", "Date", DATE, required=True, synonyms=("date", "day", "report date"),
              example="2024-03-01"),
        _platform(),
        Field("campaign", "Campaign", max_length=160, synonyms=("campaign", "campaign name"),
              help="A new name creates the campaign over the file's dates.",
              example="Spring tea"),
        Field("influencer", "Influencer handle",
              synonyms=("influencer", "creator", "influencer handle", "handle"),
              example="@leafy_life"),
        Field("post_id", "Post ID", synonyms=("post id", "post", "media id"), example="ig-10001"),
        _count("clicks", "Clicks", ("clicks", "link clicks", "visits")),
        _count("orders", "Orders", ("orders", "conversions", "purchases")),
        Field("revenue", "Revenue", NUMBER, maximum=MAX_MONEY * 1000,
              synonyms=("revenue", "sales", "attributed revenue", "value"), example="320.50"),
    ),
    key=("date", "platform", "campaign", "influencer", "post_id"),
)

PAYOUTS = Kind(
    "payouts", "Influencer payouts",
    "Money owed to influencers per post or per attributed order. A row replaces the payout "
    "of the same influencer, campaign, basis and due date.",
    (
        Field("influencer", "Influencer handle", required=True,
              synonyms=("influencer", "handle", "creator", "influencer handle"),
              example="@leafy_life"),
        Field("campaign", "Campaign", max_length=160, synonyms=("campaign", "campaign name"),
              example="Spring tea"),
        Field("basis", "Basis", CHOICE, required=True, choices=PAYOUT_BASES,
              synonyms=("basis", "payout basis", "per", "type"),
              help="post or order.", example="post"),
        Field("rate", "Rate", NUMBER, required=True, maximum=MAX_MONEY,
              synonyms=("rate", "fee", "rate per unit", "price"), example="150"),
        _count("units", "Units", ("units", "posts", "orders", "count", "quantity")),
        Field("amount", "Amount", NUMBER, maximum=MAX_MONEY * 1000,
              synonyms=("amount", "total", "payout", "amount due"),
              help="Defaults to rate × units.", example="300"),
        Field("status", "Status", CHOICE, choices=PAYOUT_STATUSES,
              synonyms=("status", "payment status", "state"),
              help="One of " + ", ".join(PAYOUT_STATUSES) + "; default pending.",
              example="pending"),
        Field("due_date", "Due date", DATE, synonyms=("due date", "due", "date"),
              example="2024-04-01"),
        Field("paid_on", "Paid on", DATE, synonyms=("paid on", "paid date", "payment date"),
              example=""),
    ),
    key=("influencer", "campaign", "basis", "due_date"),
)

FUNNEL = Kind(
    "funnel", "Funnel counts",
    "Daily funnel counts per platform; a row replaces the same platform and day.",
    (
        Field("date", "Date", DATE, required=True, synonyms=("date", "day"),
              example="2024-03-01"),
        _platform(),
        _count("sessions", "Sessions", ("sessions", "visits", "visitors"), required=True),
        _count("product_views", "Product views",
               ("product views", "views", "product page views", "detail views"), required=True),
        _count("add_to_cart", "Add to cart", ("add to cart", "adds to cart", "cart adds",
                                              "added to cart"), required=True),
        _count("checkout", "Checkout", ("checkout", "checkouts", "checkout started",
                                        "initiated checkout"), required=True),
        _count("purchase", "Purchase", ("purchase", "purchases", "orders", "transactions"),
               required=True),
    ),
    key=("date", "platform"),
)

PIPELINE = Kind(
    "pipeline", "Pipeline opportunities",
    "One row per B2B opportunity, identified by its ID; accounts and sales reps are created "
    "as needed. The stages are your own: a stage not seen before is added to the pipeline's "
    "stages (in the order the file first names them; an admin can reorder them), and a stage "
    "called Won or Closed Won (Lost, Closed Lost) closes the deal as won (lost). An open deal "
    "may lack an amount, an account or a created date; a won or lost one may not.",
    (
        Field("opportunity_id", "Opportunity ID", required=True, max_length=64,
              synonyms=("opportunity id", "opportunity", "deal id", "id", "opp id"),
              example="OPP-001"),
        Field("account", "Account", max_length=160,
              synonyms=("account", "account name", "company", "customer"),
              help="Required for a won or lost deal; empty is an unknown account.",
              example="Acme Ltd"),
        Field("rep", "Sales rep", max_length=120,
              synonyms=("sales rep", "rep", "owner", "sales agent", "salesperson"),
              example="Sam Carter"),
        Field("team", "Team", synonyms=("team", "sales team", "manager"), example="North"),
        Field("region", "Region", synonyms=("region", "territory", "regional office"),
              example="Europe"),
        _platform(required=False),
        Field("product", "Product", max_length=120,
              synonyms=("product", "product name", "product line", "item"),
              example="GTX Pro"),
        Field("stage", "Stage", required=True, max_length=STAGE_LENGTH,
              synonyms=("stage", "deal stage", "pipeline stage", "stage name"),
              help="Your stage name; Won / Closed Won and Lost / Closed Lost (any case) close "
                   "the deal.", example="proposal"),
        Field("outcome", "Outcome", CHOICE, choices=OUTCOMES,
              synonyms=("outcome", "status", "result", "won/lost"),
              help="open, won or lost; by default the stage's outcome.", example="open"),
        Field("amount", "Amount", NUMBER, maximum=MAX_MONEY * 1000,
              synonyms=("amount", "deal value", "value", "close value", "opportunity amount"),
              help="Required for a won or lost deal; an open deal without one is shown as "
                   "“no amount”.", example="12000"),
        Field("probability", "Probability", NUMBER, maximum=100,
              synonyms=("probability", "win probability", "probability %"),
              help="0–1 or 0–100.", example="0.4"),
        Field("created_on", "Created", DATE,
              synonyms=("created", "created on", "engage date", "created date", "open date"),
              help="Required for a won or lost deal.", example="2024-01-10"),
        Field("expected_close", "Expected close", DATE,
              synonyms=("expected close", "close date", "expected close date"),
              help="For a won or lost deal without a Closed on column: the day it closed.",
              example="2024-04-30"),
        Field("closed_on", "Closed on", DATE,
              synonyms=("closed on", "closed", "closed date", "actual close"), example=""),
    ),
    key=("opportunity_id",),
)

SALES_TEAM = Kind(
    "sales_team", "Sales team",
    "One row per sales rep: their manager and regional office give the rep a team (the "
    "manager's, unless a team is given) and a region; a new rep is created.",
    (
        Field("rep", "Sales rep", required=True, max_length=120,
              synonyms=("sales agent", "agent", "sales rep", "rep", "salesperson", "owner",
                        "name"), example="Sam Carter"),
        Field("manager", "Manager", max_length=120,
              synonyms=("manager", "sales manager", "team lead", "reports to"),
              example="Dana Brooks"),
        Field("team", "Team", synonyms=("team", "sales team"),
              help="Default: the manager's name.", example="North"),
        Field("region", "Region", synonyms=("regional office", "region", "office",
                                             "territory"), example="Central"),
        Field("quarterly_quota", "Quarterly quota", NUMBER, maximum=MAX_MONEY * 1000,
              synonyms=("quarterly quota", "quota", "target"), example="60000"),
    ),
    key=("rep",),
)

KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    SALES, PRODUCTS, CUSTOMERS, POSTS, INFLUENCERS, TRACKING, PAYOUTS, FUNNEL, PIPELINE,
    SALES_TEAM)}

# UCI Online Retail in its two namings; both are sales files with the UCI rules applied.
UCI_NAMINGS: tuple[dict[str, str], ...] = (
    {"order_number": "InvoiceNo", "sku": "StockCode", "product_name": "Description",
     "quantity": "Quantity", "ordered_at": "InvoiceDate", "unit_price": "UnitPrice",
     "customer_id": "CustomerID", "country": "Country"},
    {"order_number": "Invoice", "sku": "StockCode", "product_name": "Description",
     "quantity": "Quantity", "ordered_at": "InvoiceDate", "unit_price": "Price",
     "customer_id": "Customer ID", "country": "Country"},
)


def normalise_header(name: str) -> str:
    """A column name reduced for matching: 'Customer_ID ' and 'customer id' are the same."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9%/]+", " ", ascii_name.lower()).strip()


def template_csv(kind_name: str) -> bytes:
    """A CSV template of a kind: the header row and one example row (UTF-8 with BOM)."""
    kind = KINDS[kind_name]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([field.label for field in kind.fields])
    writer.writerow([field.example for field in kind.fields])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def columns_markdown() -> str:
    """The column tables of every kind, as embedded verbatim in docs/imports.md."""
    out: list[str] = []
    for kind in KINDS.values():
        out += [f"### {kind.label} — `--kind {kind.name}`", "", kind.description, ""]
        if kind.one_of:
            groups = "; ".join(" or ".join(f"*{kind.field(n).label}*" for n in group)
                               for group in kind.one_of)
            out += [f"At least one of: {groups}.", ""]
        out += ["| column | type | required | also recognised as | notes |",
                "|---|---|---|---|---|"]
        for field in kind.fields:
            synonyms = ", ".join(field.synonyms)
            out.append(f"| {field.label} | {field.type} | {'yes' if field.required else ''} "
                       f"| {synonyms} | {field.help} |")
        out.append("")
    return "\n".join(out)
