"""English geography used by the sample data: England, regions, London sub-regions and the
153 local authorities of DfE's 2024/25 files (after the 2023 Cumbria, North Yorkshire and
Somerset reorganisations and the 2021 Northamptonshire split).

Authored by hand from public ONS/DfE code lists; names are spelled as DfE files spell them.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTRY_CODE = "E92000001"
COUNTRY_NAME = "England"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    ind: int  # 1-9, used as region_ind in the statistical-neighbour file


@dataclass(frozen=True)
class SubRegion:
    code: str
    name: str


@dataclass(frozen=True)
class LocalAuthority:
    old_code: str
    new_code: str
    name: str
    region: Region
    sub_region: SubRegion | None = None  # London boroughs only

    @property
    def reporting_region_code(self) -> str:
        # DfE KS2/KS4 LA rows put London boroughs under Inner/Outer London, not E12000007.
        return self.sub_region.code if self.sub_region else self.region.code

    @property
    def reporting_region_name(self) -> str:
        return self.sub_region.name if self.sub_region else self.region.name


NORTH_EAST = Region("E12000001", "North East", 1)
NORTH_WEST = Region("E12000002", "North West", 2)
YORKSHIRE = Region("E12000003", "Yorkshire and The Humber", 3)
EAST_MIDLANDS = Region("E12000004", "East Midlands", 4)
WEST_MIDLANDS = Region("E12000005", "West Midlands", 5)
EAST = Region("E12000006", "East of England", 6)
LONDON = Region("E12000007", "London", 7)
SOUTH_EAST = Region("E12000008", "South East", 8)
SOUTH_WEST = Region("E12000009", "South West", 9)

REGIONS: tuple[Region, ...] = (
    NORTH_EAST,
    NORTH_WEST,
    YORKSHIRE,
    EAST_MIDLANDS,
    WEST_MIDLANDS,
    EAST,
    LONDON,
    SOUTH_EAST,
    SOUTH_WEST,
)

INNER_LONDON = SubRegion("E13000001", "Inner London")
OUTER_LONDON = SubRegion("E13000002", "Outer London")
LONDON_SUB_REGIONS: tuple[SubRegion, ...] = (INNER_LONDON, OUTER_LONDON)

# (old code, new code, name)
_BY_REGION: dict[Region, list[tuple[str, str, str]]] = {
    NORTH_EAST: [
        ("841", "E06000005", "Darlington"),
        ("840", "E06000047", "County Durham"),
        ("390", "E08000037", "Gateshead"),
        ("805", "E06000001", "Hartlepool"),
        ("806", "E06000002", "Middlesbrough"),
        ("391", "E08000021", "Newcastle upon Tyne"),
        ("392", "E08000022", "North Tyneside"),
        ("929", "E06000057", "Northumberland"),
        ("807", "E06000003", "Redcar and Cleveland"),
        ("393", "E08000023", "South Tyneside"),
        ("808", "E06000004", "Stockton-on-Tees"),
        ("394", "E08000024", "Sunderland"),
    ],
    NORTH_WEST: [
        ("889", "E06000008", "Blackburn with Darwen"),
        ("890", "E06000009", "Blackpool"),
        ("350", "E08000001", "Bolton"),
        ("351", "E08000002", "Bury"),
        ("895", "E06000049", "Cheshire East"),
        ("896", "E06000050", "Cheshire West and Chester"),
        ("942", "E06000063", "Cumberland"),
        ("876", "E06000006", "Halton"),
        ("340", "E08000011", "Knowsley"),
        ("888", "E10000017", "Lancashire"),
        ("341", "E08000012", "Liverpool"),
        ("352", "E08000003", "Manchester"),
        ("353", "E08000004", "Oldham"),
        ("354", "E08000005", "Rochdale"),
        ("355", "E08000006", "Salford"),
        ("343", "E08000014", "Sefton"),
        ("342", "E08000013", "St. Helens"),
        ("356", "E08000007", "Stockport"),
        ("357", "E08000008", "Tameside"),
        ("358", "E08000009", "Trafford"),
        ("877", "E06000007", "Warrington"),
        ("943", "E06000064", "Westmorland and Furness"),
        ("359", "E08000010", "Wigan"),
        ("344", "E08000015", "Wirral"),
    ],
    YORKSHIRE: [
        ("370", "E08000016", "Barnsley"),
        ("380", "E08000032", "Bradford"),
        ("381", "E08000033", "Calderdale"),
        ("371", "E08000017", "Doncaster"),
        ("811", "E06000011", "East Riding of Yorkshire"),
        ("810", "E06000010", "Kingston upon Hull, City of"),
        ("382", "E08000034", "Kirklees"),
        ("383", "E08000035", "Leeds"),
        ("812", "E06000012", "North East Lincolnshire"),
        ("813", "E06000013", "North Lincolnshire"),
        ("815", "E06000065", "North Yorkshire"),
        ("372", "E08000018", "Rotherham"),
        ("373", "E08000019", "Sheffield"),
        ("384", "E08000036", "Wakefield"),
        ("816", "E06000014", "York"),
    ],
    EAST_MIDLANDS: [
        ("831", "E06000015", "Derby"),
        ("830", "E10000007", "Derbyshire"),
        ("856", "E06000016", "Leicester"),
        ("855", "E10000018", "Leicestershire"),
        ("925", "E10000019", "Lincolnshire"),
        ("940", "E06000061", "North Northamptonshire"),
        ("892", "E06000018", "Nottingham"),
        ("891", "E10000024", "Nottinghamshire"),
        ("857", "E06000017", "Rutland"),
        ("941", "E06000062", "West Northamptonshire"),
    ],
    WEST_MIDLANDS: [
        ("330", "E08000025", "Birmingham"),
        ("331", "E08000026", "Coventry"),
        ("332", "E08000027", "Dudley"),
        ("884", "E06000019", "Herefordshire, County of"),
        ("333", "E08000028", "Sandwell"),
        ("893", "E06000051", "Shropshire"),
        ("334", "E08000029", "Solihull"),
        ("860", "E10000028", "Staffordshire"),
        ("861", "E06000021", "Stoke-on-Trent"),
        ("894", "E06000020", "Telford and Wrekin"),
        ("335", "E08000030", "Walsall"),
        ("937", "E10000031", "Warwickshire"),
        ("336", "E08000031", "Wolverhampton"),
        ("885", "E10000034", "Worcestershire"),
    ],
    EAST: [
        ("822", "E06000055", "Bedford"),
        ("873", "E10000003", "Cambridgeshire"),
        ("823", "E06000056", "Central Bedfordshire"),
        ("881", "E10000012", "Essex"),
        ("919", "E10000015", "Hertfordshire"),
        ("821", "E06000032", "Luton"),
        ("926", "E10000020", "Norfolk"),
        ("874", "E06000031", "Peterborough"),
        ("882", "E06000033", "Southend-on-Sea"),
        ("935", "E10000029", "Suffolk"),
        ("883", "E06000034", "Thurrock"),
    ],
    LONDON: [
        ("201", "E09000001", "City of London"),
        ("202", "E09000007", "Camden"),
        ("203", "E09000011", "Greenwich"),
        ("204", "E09000012", "Hackney"),
        ("205", "E09000013", "Hammersmith and Fulham"),
        ("206", "E09000019", "Islington"),
        ("207", "E09000020", "Kensington and Chelsea"),
        ("208", "E09000022", "Lambeth"),
        ("209", "E09000023", "Lewisham"),
        ("210", "E09000028", "Southwark"),
        ("211", "E09000030", "Tower Hamlets"),
        ("212", "E09000032", "Wandsworth"),
        ("213", "E09000033", "Westminster"),
        ("301", "E09000002", "Barking and Dagenham"),
        ("302", "E09000003", "Barnet"),
        ("303", "E09000004", "Bexley"),
        ("304", "E09000005", "Brent"),
        ("305", "E09000006", "Bromley"),
        ("306", "E09000008", "Croydon"),
        ("307", "E09000009", "Ealing"),
        ("308", "E09000010", "Enfield"),
        ("309", "E09000014", "Haringey"),
        ("310", "E09000015", "Harrow"),
        ("311", "E09000016", "Havering"),
        ("312", "E09000017", "Hillingdon"),
        ("313", "E09000018", "Hounslow"),
        ("314", "E09000021", "Kingston upon Thames"),
        ("315", "E09000024", "Merton"),
        ("316", "E09000025", "Newham"),
        ("317", "E09000026", "Redbridge"),
        ("318", "E09000027", "Richmond upon Thames"),
        ("319", "E09000029", "Sutton"),
        ("320", "E09000031", "Waltham Forest"),
    ],
    SOUTH_EAST: [
        ("867", "E06000036", "Bracknell Forest"),
        ("846", "E06000043", "Brighton and Hove"),
        ("825", "E06000060", "Buckinghamshire"),
        ("845", "E10000011", "East Sussex"),
        ("850", "E10000014", "Hampshire"),
        ("921", "E06000046", "Isle of Wight"),
        ("886", "E10000016", "Kent"),
        ("887", "E06000035", "Medway"),
        ("826", "E06000042", "Milton Keynes"),
        ("931", "E10000025", "Oxfordshire"),
        ("851", "E06000044", "Portsmouth"),
        ("870", "E06000038", "Reading"),
        ("871", "E06000039", "Slough"),
        ("852", "E06000045", "Southampton"),
        ("936", "E10000030", "Surrey"),
        ("869", "E06000037", "West Berkshire"),
        ("938", "E10000032", "West Sussex"),
        ("868", "E06000040", "Windsor and Maidenhead"),
        ("872", "E06000041", "Wokingham"),
    ],
    SOUTH_WEST: [
        ("800", "E06000022", "Bath and North East Somerset"),
        ("839", "E06000058", "Bournemouth, Christchurch and Poole"),
        ("801", "E06000023", "Bristol, City of"),
        ("908", "E06000052", "Cornwall"),
        ("878", "E10000008", "Devon"),
        ("838", "E06000059", "Dorset"),
        ("916", "E10000013", "Gloucestershire"),
        ("420", "E06000053", "Isles of Scilly"),
        ("802", "E06000024", "North Somerset"),
        ("879", "E06000026", "Plymouth"),
        ("933", "E06000066", "Somerset"),
        ("803", "E06000025", "South Gloucestershire"),
        ("866", "E06000030", "Swindon"),
        ("880", "E06000027", "Torbay"),
        ("865", "E06000054", "Wiltshire"),
    ],
}


# DfE uses the ONS statistical Inner London (with Haringey and Newham, without Greenwich),
# not the LA-code ranges 2xx/3xx.
_INNER_LONDON_CODES = frozenset(
    {
        "201",
        "202",
        "204",
        "205",
        "206",
        "207",
        "208",
        "209",
        "210",
        "211",
        "212",
        "213",
        "309",
        "316",
    }
)


def _london_sub_region(old_code: str) -> SubRegion:
    return INNER_LONDON if old_code in _INNER_LONDON_CODES else OUTER_LONDON


def _build() -> tuple[LocalAuthority, ...]:
    las = []
    for region in REGIONS:
        for old_code, new_code, name in _BY_REGION[region]:
            sub = _london_sub_region(old_code) if region is LONDON else None
            las.append(LocalAuthority(old_code, new_code, name, region, sub))
    return tuple(las)


LOCAL_AUTHORITIES: tuple[LocalAuthority, ...] = _build()

# Small areas whose cohorts are tiny enough for suppression.
TINY_LA_CODES = frozenset({"201", "420"})


def la_by_old_code(old_code: str) -> LocalAuthority:
    for la in LOCAL_AUTHORITIES:
        if la.old_code == old_code:
            return la
    raise KeyError(old_code)
