"""Media-post files as Facebook and Instagram export them (issue 12, item 6), and problems
quoted as the file writes them (item 8), on SQLite and PostgreSQL."""
from __future__ import annotations

import io

import pandas as pd

from services.imports.mapping import detect, propose
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    Fresh,
    fresh_fixture,
    fresh_sqlite_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
)

# A Meta Business Suite post export: no platform column; "Date" holds the export's period
# ("Lifetime"), not a date; "Page total likes" is the page's, not the post's.
FACEBOOK = """Post ID,Page ID,Page name,Title,Description,Publish time,Permalink,Post type,\
Date,Impressions,Reach,Reactions,Comments,Shares,Page total likes
1029384756_1,1029384756,Leaf & Co,,Spring teas are in,03/14/2025 18:05,\
https://www.facebook.com/1029384756/posts/1,Photos,Lifetime,1520,1210,85,4,2,13400
1029384756_2,1029384756,Leaf & Co,,Opening hours this week,03/15/2025 09:30,\
https://www.facebook.com/1029384756/posts/2,Status,Lifetime,830,700,12,1,0,13410
1029384756_3,1029384756,Leaf & Co,,Our brewing guide,03/16/2025 12:00,\
https://www.facebook.com/1029384756/posts/3,Link,Lifetime,640,512,9,0,3,13415
1029384756_4,1029384756,Leaf & Co,How we blend,,03/17/2025 20:45,\
https://www.facebook.com/1029384756/posts/4,Videos,Lifetime,4100,3300,240,31,18,13430
1029384756_5,1029384756,Leaf & Co,,The new range,03/18/2025 07:15,\
https://www.facebook.com/1029384756/posts/5,ALBUM,Lifetime,2200,1800,130,9,6,13440
1029384756_6,1029384756,Leaf & Co,,Ten seconds of steam,03/19/2025 19:00,\
https://www.facebook.com/1029384756/posts/6,Reels,Lifetime,9800,7400,610,44,52,13500
"""

# An Instagram export with singular counts, the account's follower figure and a comment id.
INSTAGRAM = """Post ID,Account ID,Account username,Publish time,Post type,Like,Comment,Share,\
Comment ID,Saves,Page total likes
1801,17841400,leafandco,2025-03-20 18:00,IG carousel,320,12,8,90001,40,5200
1802,17841400,leafandco,2025-03-21 08:10,IG reel,980,51,33,90002,75,5210
1803,17841400,leafandco,2025-03-22 12:30,Story,45,0,1,90003,2,5215
1804,17841400,leafandco,2025-03-23 21:05,carousel,150,7,2,90004,11,5230
"""

# The shape of the public "Facebook metrics" data set: month, weekday and hour, no date.
DATE_PARTS_ONLY = """Page total likes;Type;Category;Post Month;Post Weekday;Post Hour;Paid;\
Lifetime Post Total Reach;Lifetime Post Total Impressions;comment;like;share
139441;Photo;2;12;4;3;0;2752;5091;4;79;17
139441;Status;2;12;3;10;0;10460;19057;5;130;29
"""

# What real exports call the post types, as ours: written out here, independently of the
# importer's own table.
OUR_TYPES = {"photos": "image", "status": "text", "link": "text", "videos": "video",
             "album": "carousel", "reels": "reel", "ig carousel": "carousel",
             "ig reel": "reel", "story": "story", "carousel": "carousel"}


def stored_posts(fresh: Fresh) -> pd.DataFrame:
    """Every stored post with its platform's name."""
    with fresh.engine.connect() as connection:
        return pd.read_sql_query(
            "SELECT p.external_id, pl.name AS platform, p.post_type, p.likes, p.comments, "
            "p.shares, p.impressions, p.reach, p.saves FROM media_posts p "
            "JOIN platforms pl ON pl.id = p.platform_id ORDER BY p.external_id", connection)


def test_a_facebook_export_without_a_platform_column_takes_the_chosen_platform(
        fresh: Fresh) -> None:
    report = fresh.run(FACEBOOK.encode(), "facebook-posts.csv", platform="Facebook")
    assert report.status == "succeeded", report.to_text()
    assert report.kind == "posts" and report.platform == "Facebook"
    # Exact names win; the export's "Date" (the period, "Lifetime") is not the post's date.
    assert report.mapping["likes"] == "Reactions"
    assert report.mapping["posted_at"] == "Publish time"
    assert "Page total likes" not in report.mapping.values()
    expected = pd.read_csv(io.StringIO(FACEBOOK), dtype={"Post ID": str})
    stored = stored_posts(fresh)
    assert list(stored["external_id"]) == sorted(expected["Post ID"])
    assert set(stored["platform"]) == {"Facebook"}
    by_id = expected.set_index("Post ID")
    assert list(stored["post_type"]) == [OUR_TYPES[t.lower()] for t in
                                         by_id.loc[stored["external_id"], "Post type"]]
    for ours, theirs in (("likes", "Reactions"), ("comments", "Comments"),
                         ("shares", "Shares"), ("impressions", "Impressions"),
                         ("reach", "Reach")):
        assert int(stored[ours].sum()) == int(expected[theirs].sum())


def test_an_instagram_export_maps_singular_counts_and_never_an_id_to_a_count(
        fresh_sqlite: Fresh) -> None:
    columns = INSTAGRAM.splitlines()[0].split(",")
    proposal = propose("posts", columns).columns
    assert (proposal["likes"], proposal["comments"], proposal["shares"]) == (
        "Like", "Comment", "Share")
    assert "Comment ID" not in proposal.values() and "Account ID" not in proposal.values()
    report = fresh_sqlite.run(INSTAGRAM.encode(), "instagram.csv", platform="Instagram")
    assert report.status == "succeeded", report.to_text()
    expected = pd.read_csv(io.StringIO(INSTAGRAM), dtype={"Post ID": str})
    stored = stored_posts(fresh_sqlite)
    assert set(stored["platform"]) == {"Instagram"}
    assert list(stored["post_type"]) == [OUR_TYPES[t.lower()] for t in expected["Post type"]]
    assert int(stored["likes"].sum()) == int(expected["Like"].sum())
    assert int(stored["saves"].sum()) == int(expected["Saves"].sum())


def test_an_id_column_is_never_proposed_for_a_date_or_a_count() -> None:
    sales = propose("sales", ["Order ID", "Order Date ID", "Product", "Qty", "Price"])
    assert "ordered_at" not in sales.columns  # "Order Date ID" names a key, not a date
    posts = propose("posts", ["Post ID", "Publish time", "Post type", "Reach ID",
                              "Lifetime Post Total Reach"])
    assert posts.columns["reach"] == "Lifetime Post Total Reach"
    assert posts.columns["post_id"] == "Post ID"


def test_a_file_with_only_month_weekday_and_hour_is_refused_with_the_reason(
        fresh_sqlite: Fresh) -> None:
    columns = DATE_PARTS_ONLY.splitlines()[0].split(";")
    detection = detect(columns)
    assert detection.mapping.kind == "posts"
    # The page's follower count is not the posts' likes; "Post Month" is no post id.
    assert detection.mapping.columns["likes"] == "like"
    assert "post_id" not in detection.mapping.columns
    report = fresh_sqlite.run(DATE_PARTS_ONLY.encode(), "facebook_metrics.csv",
                              kind="posts", platform="Facebook")
    assert report.status == "rejected"
    assert "only parts of dates (Post Month, Post Weekday, Post Hour)" in report.errors[0]
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM media_posts") == 0


def test_an_unknown_post_type_is_named_with_its_value(fresh_sqlite: Fresh) -> None:
    data = FACEBOOK.replace(",Status,", ",Poll,")
    report = fresh_sqlite.run(data.encode(), "facebook-posts.csv", platform="Facebook")
    assert report.status == "rejected"
    assert [(i["column"], i["value"]) for i in report.issues] == [("Post type", "Poll")]


def test_a_problem_quotes_the_value_as_the_file_writes_it(fresh_sqlite: Fresh) -> None:
    data = ("Order ID,Order Date,SKU,Quantity,Unit price\n"
            "A1,2025-03-01 10:00,TEA,0,4.50\n"
            "A2,2025-03-01 11:00,TEA,2,-4.50\n"
            "A3,2025-03-01 12:00,TEA,1.0,4.50\n")
    report = fresh_sqlite.run(data.encode(), "orders.csv")
    assert report.status == "rejected"
    quoted = {(issue["row"], issue["column"]): issue["value"] for issue in report.issues}
    assert quoted == {(2, "Quantity"): "0", (3, "Unit price"): "-4.50"}
