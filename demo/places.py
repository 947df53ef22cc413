"""Where the demo utility's customers are: localities of Pune, their roads and PIN codes.

Coordinates are each locality's approximate centre; premises scatter a few hundred metres
around it. Two industrial estates hold the factories. Routes pair localities, so a meter
reader walks one part of town per route, as real route books are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY = "Pune"
STATE = "Maharashtra"


@dataclass(frozen=True, slots=True)
class Locality:
    code: str
    name: str
    postal_code: str
    latitude: float
    longitude: float
    roads: tuple[str, ...]
    industrial: bool = False


LOCALITIES: tuple[Locality, ...] = (
    Locality("SHN", "Shivajinagar", "411005", 18.5308, 73.8475, ("FC Road", "JM Road", "Ganeshkhind Road")),
    Locality("DCN", "Deccan Gymkhana", "411004", 18.5167, 73.8411, ("Prabhat Road", "Bhandarkar Road")),
    Locality("KTD", "Kothrud", "411038", 18.5074, 73.8077, ("Paud Road", "Karve Road", "DP Road")),
    Locality("KVN", "Karve Nagar", "411052", 18.4900, 73.8200, ("Hingne Road", "Karve Nagar Main Road")),
    Locality("AUN", "Aundh", "411007", 18.5590, 73.8077, ("ITI Road", "Aundh Road", "Parihar Chowk Road")),
    Locality("BNR", "Baner", "411045", 18.5590, 73.7868, ("Baner Road", "Pashan Link Road")),
    Locality("VMN", "Viman Nagar", "411014", 18.5679, 73.9143, ("Airport Road", "Datta Mandir Road")),
    Locality("KLN", "Kalyani Nagar", "411006", 18.5463, 73.9033, ("North Main Road", "Central Avenue")),
    Locality("HDP", "Hadapsar", "411028", 18.5089, 73.9260, ("Solapur Road", "Magarpatta Road")),
    Locality("MIH", "Hadapsar Industrial Estate", "411013", 18.5000, 73.9300,
             ("Industrial Estate Road", "Ramtekdi Road"), industrial=True),
    Locality("KDW", "Kondhwa", "411048", 18.4690, 73.8890, ("Kondhwa Road", "NIBM Road")),
    Locality("SDP", "Sadashiv Peth", "411030", 18.5120, 73.8500, ("Tilak Road", "Bajirao Road")),
    Locality("BBW", "Bibwewadi", "411037", 18.4700, 73.8640, ("Bibwewadi Road", "Upper Indiranagar Road")),
    Locality("WKD", "Wakad", "411057", 18.5990, 73.7620, ("Wakad Road", "Kaspate Wasti Road")),
    Locality("MIB", "Bhosari MIDC", "411026", 18.6210, 73.8470,
             ("MIDC J Block Road", "Telco Road"), industrial=True),
    Locality("PSN", "Pashan", "411021", 18.5400, 73.7900, ("Pashan Road", "Sus Road")),
    Locality("WRJ", "Warje", "411058", 18.4840, 73.7990, ("Warje Road", "Mumbai Bangalore Highway Service Road")),
    Locality("DNK", "Dhankawadi", "411043", 18.4600, 73.8500, ("Satara Road", "Pune Satara Service Road")),
    Locality("KRP", "Koregaon Park", "411001", 18.5362, 73.8940, ("North Main Road", "Lane 7")),
    Locality("KHR", "Kharadi", "411014", 18.5515, 73.9348, ("Kharadi Bypass", "EON IT Park Road")),
)  # fmt: skip

RESIDENTIAL = tuple(place for place in LOCALITIES if not place.industrial)
INDUSTRIAL = tuple(place for place in LOCALITIES if place.industrial)

# Route books: two localities a route, in LOCALITIES order; the industrial estates share a
# route with a neighbouring residential area, as they would in a real subdivision.
ROUTE_LOCALITIES: tuple[tuple[str, str], ...] = (
    ("SHN", "DCN"), ("KTD", "KVN"), ("AUN", "BNR"), ("VMN", "KLN"), ("HDP", "MIH"),
    ("KDW", "SDP"), ("BBW", "DNK"), ("WKD", "MIB"), ("PSN", "WRJ"), ("KRP", "KHR"),
)  # fmt: skip

BUILDINGS: tuple[str, ...] = (
    "Sai Krupa Apartments", "Shubham Heights", "Gulmohar Society", "Anand Park",
    "Madhuban Co-op Housing Society", "Sahwas Society", "Parijat Apartments",
    "Shreeji Residency", "Vrindavan Society", "Siddhi Towers", "Ganga Heights",
    "Kalpataru Enclave", "Mayur Colony", "Sukhsagar Nagar", "Prathamesh Apartments",
)  # fmt: skip

SHOPPING_CENTRES: tuple[str, ...] = (
    "Laxmi Complex", "Sai Plaza", "City Point", "Shreenath Plaza", "Market Yard Arcade",
    "Deccan Mall", "Vishal Commercial Complex", "Ganesh Market",
)  # fmt: skip

ACCESS_NOTES: tuple[str, ...] = (
    "dog in compound, ring the bell first",
    "meter room in basement, key with the watchman",
    "gate code 2580",
    "meter on first-floor landing",
    "closed on Sundays",
    "meter behind the shutter, ask the shop owner",
)  # fmt: skip
