"""Name parts for demo customers: people, shops and small factories of a Pune utility.

The lists lean Marathi (the demo utility is in Pune) with names from across India, as a
real customer base would have. Combining parts gives thousands of plausible names from
short lists, and a seeded RNG picks them, so the same seed always gives the same people.
"""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "Aarav", "Aditi", "Aditya", "Ajay", "Akshay", "Amit", "Amol", "Ananya", "Anil", "Anjali",
    "Ankita", "Arjun", "Ashwini", "Bhavana", "Chaitanya", "Deepa", "Deepak", "Dhanashree",
    "Dilip", "Ganesh", "Gauri", "Harish", "Ishaan", "Jayesh", "Jyoti", "Kavita", "Kedar",
    "Ketaki", "Kiran", "Madhura", "Mahesh", "Manasi", "Manoj", "Meera", "Mohan", "Mrunal",
    "Nandini", "Neha", "Nikhil", "Nilesh", "Omkar", "Pallavi", "Pooja", "Pradeep", "Prajakta",
    "Prakash", "Pranav", "Prasad", "Priya", "Rahul", "Rajesh", "Rakesh", "Ramesh", "Rohan",
    "Rohini", "Sachin", "Sagar", "Sai", "Sakshi", "Sandeep", "Sanjay", "Sarika", "Shalini",
    "Shilpa", "Shreya", "Shubham", "Smita", "Sneha", "Sunil", "Sunita", "Supriya", "Suresh",
    "Swati", "Tanvi", "Tejas", "Uday", "Varsha", "Vikas", "Vinay", "Vishal", "Yash", "Yogesh",
    "Zoya", "Farhan", "Imran", "Ayesha", "Joseph", "Maria", "Gurpreet", "Harpreet",
)  # fmt: skip

SURNAMES: tuple[str, ...] = (
    "Apte", "Bhagat", "Bhide", "Bhosale", "Chavan", "Chitale", "Dabholkar", "Dange",
    "Deshmukh", "Deshpande", "Dixit", "Gadgil", "Gaikwad", "Ghodke", "Godbole", "Gokhale",
    "Jadhav", "Jagtap", "Joshi", "Kale", "Kamble", "Karve", "Kelkar", "Khandekar", "Kulkarni",
    "Limaye", "Mane", "Mhatre", "More", "Naik", "Nikam", "Paranjape", "Patil", "Pawar",
    "Phadke", "Ranade", "Salunkhe", "Sathe", "Sawant", "Shinde", "Shirke", "Tilak", "Wagh",
    "Agarwal", "Banerjee", "Das", "D'Souza", "Fernandes", "Gupta", "Iyer", "Jain", "Kapoor",
    "Khan", "Menon", "Mehta", "Nair", "Pillai", "Rao", "Reddy", "Shah", "Shaikh", "Sharma",
    "Singh", "Verma",
)  # fmt: skip

BUSINESS_PREFIXES: tuple[str, ...] = (
    "Shree Ganesh", "Sai", "Om", "Jai Bhavani", "Mahalaxmi", "Siddhivinayak", "Balaji",
    "Krishna", "Navkar", "Royal", "New India", "Deccan", "Sahyadri", "Shivneri", "Omkar",
    "Vighnaharta", "Kalpataru", "Swami Samarth", "Annapurna", "Pune Central",
)  # fmt: skip

COMMERCIAL_KINDS: tuple[str, ...] = (
    "Traders", "General Stores", "Medicals", "Sweets", "Hardware", "Restaurant",
    "Electronics", "Textiles", "Bakery", "Clinic", "Kirana Stores", "Jewellers", "Lodge",
    "Tuition Classes", "Xerox Centre", "Opticians", "Tailors", "Mobile Gallery",
)  # fmt: skip

INDUSTRIAL_KINDS: tuple[str, ...] = (
    "Engineering Works", "Auto Components Pvt Ltd", "Plastics", "Precision Tools",
    "Fabricators", "Packaging Pvt Ltd", "Castings", "Pharma Pvt Ltd", "Rubber Products",
    "Forgings", "Industries", "Polymers LLP",
)  # fmt: skip

STAFF_NAMES: dict[str, str] = {
    "admin": "Vandana Kulkarni",
    "staff1": "Rajesh Patil",
    "staff2": "Sneha Deshmukh",
    "reader": "Santosh Jadhav",
}
