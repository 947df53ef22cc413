"""Identity: sign-up and sign-in, tokens and their standing, second factors, sign-in codes,
throttles and partner applications.
"""
