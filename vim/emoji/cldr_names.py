"""CLDR short names, groups and subgroups of the emoji in @lobehub/fluent-emoji-3d@1.1.0 (generated).

Made by `python -m vim.emoji.make_names` (vim/emoji/make_names.py) from emojibase-data 17.0.0
(npm, integrity sha512-Yvgb5AWoHViHV/gq1qr5ZAarcBip+B27/ZLRsUJkbgAEaLlZ/fof9g882LTpmEpyhBNEC0m2SEmItljHsTygjA==),
MIT License, Copyright (c) 2017-2019 Miles Johnson. Its English labels, groups and subgroups are
Unicode CLDR annotations and Unicode's emoji data: Copyright © 1991-2025 Unicode, Inc., Unicode License v3
(https://www.unicode.org/license.txt), which allows copying and redistributing them with this notice.
Do not edit: run the command in vim/emoji/make_names.py's docstring.

1945 rows: code key (lower-case hex, at least 4 digits, no U+FE0F) <TAB> name <TAB> group <TAB> subgroup.
1430 skin-toned emoji of the package have no row: their names are derived (vim.emoji.names.toned_name),
checked against emojibase for each one. 0 emoji of the package are not in emojibase.
"""

GROUPS = {
    "activities": "activities",
    "animals-nature": "animals & nature",
    "flags": "flags",
    "food-drink": "food & drink",
    "objects": "objects",
    "people-body": "people & body",
    "smileys-emotion": "smileys & emotion",
    "symbols": "symbols",
    "travel-places": "travel & places",
}
SUBGROUPS = {
    "alphanum": "alphanumeric symbols",
    "animal-amphibian": "amphibians",
    "animal-bird": "birds",
    "animal-bug": "bugs",
    "animal-mammal": "mammals",
    "animal-marine": "marine life",
    "animal-reptile": "reptiles",
    "arrow": "arrows",
    "arts-crafts": "arts & crafts",
    "av-symbol": "audio & video symbols",
    "award-medal": "award medals",
    "body-parts": "body parts",
    "book-paper": "books & paper",
    "cat-face": "cat faces",
    "clothing": "clothing",
    "computer": "computer",
    "country-flag": "country flags",
    "currency": "currencies",
    "dishware": "dishware",
    "drink": "drink",
    "emotion": "emotions",
    "event": "events & holidays",
    "face-affection": "affectionate",
    "face-concerned": "concerned",
    "face-costume": "costumed & creatures",
    "face-glasses": "with glasses",
    "face-hand": "with hands",
    "face-hat": "with hats",
    "face-negative": "negative",
    "face-neutral-skeptical": "neutral / skeptical",
    "face-sleepy": "sleepy",
    "face-smiling": "smiling",
    "face-tongue": "with tongue",
    "face-unwell": "unwell",
    "family": "family",
    "flag": "other flags",
    "food-asian": "asian",
    "food-fruit": "fruit",
    "food-prepared": "cooked / prepared",
    "food-sweet": "sweets & candy",
    "food-vegetable": "vegetables",
    "game": "games & hobbies",
    "gender": "gender signs",
    "geometric": "shapes & colors",
    "hand-fingers-closed": "fingers closed",
    "hand-fingers-open": "fingers open",
    "hand-fingers-partial": "hand signs",
    "hand-prop": "hand props",
    "hand-single-finger": "finger pointing",
    "hands": "hands",
    "heart": "hearts",
    "hotel": "hotel",
    "household": "household items",
    "keycap": "keypad characters",
    "light-video": "light, film & video",
    "lock": "lock & keys",
    "mail": "mail",
    "math": "math symbols",
    "medical": "medical",
    "money": "money",
    "monkey-face": "monkey faces",
    "music": "music",
    "musical-instrument": "musical instruments",
    "office": "office supplies",
    "other-object": "other objects",
    "other-symbol": "other symbols",
    "person": "people",
    "person-activity": "activities",
    "person-fantasy": "fantasy",
    "person-gesture": "gestures",
    "person-resting": "resting",
    "person-role": "roles & careers",
    "person-sport": "athletics",
    "person-symbol": "people symbols",
    "phone": "phone",
    "place-building": "buildings",
    "place-geographic": "geographic locations",
    "place-map": "globes & maps",
    "place-other": "other places",
    "place-religious": "religious buildings",
    "plant-flower": "flowers",
    "plant-other": "other plants",
    "punctuation": "punctuation",
    "religion": "religious symbols",
    "science": "science equipment",
    "sky-weather": "weather",
    "sound": "sound",
    "sport": "sports",
    "subdivision-flag": "subdivision flags",
    "time": "time",
    "tool": "tools",
    "transport-air": "air transportation",
    "transport-ground": "ground transportation",
    "transport-sign": "transport signs",
    "transport-water": "water transportation",
    "warning": "warning symbols",
    "writing": "writing",
    "zodiac": "zodiac signs",
}
TABLE = """\
0023-20e3	keycap: #	symbols	keycap
002a-20e3	keycap: *	symbols	keycap
0030-20e3	keycap: 0	symbols	keycap
0031-20e3	keycap: 1	symbols	keycap
0032-20e3	keycap: 2	symbols	keycap
0033-20e3	keycap: 3	symbols	keycap
0034-20e3	keycap: 4	symbols	keycap
0035-20e3	keycap: 5	symbols	keycap
0036-20e3	keycap: 6	symbols	keycap
0037-20e3	keycap: 7	symbols	keycap
0038-20e3	keycap: 8	symbols	keycap
0039-20e3	keycap: 9	symbols	keycap
00a9	copyright	symbols	other-symbol
00ae	registered	symbols	other-symbol
1f004	mahjong red dragon	activities	game
1f0cf	joker	activities	game
1f170	A button (blood type)	symbols	alphanum
1f171	B button (blood type)	symbols	alphanum
1f17e	O button (blood type)	symbols	alphanum
1f17f	P button	symbols	alphanum
1f18e	AB button (blood type)	symbols	alphanum
1f191	CL button	symbols	alphanum
1f192	COOL button	symbols	alphanum
1f193	FREE button	symbols	alphanum
1f194	ID button	symbols	alphanum
1f195	NEW button	symbols	alphanum
1f196	NG button	symbols	alphanum
1f197	OK button	symbols	alphanum
1f198	SOS button	symbols	alphanum
1f199	UP! button	symbols	alphanum
1f19a	VS button	symbols	alphanum
1f1e6-1f1e8	flag: Ascension Island	flags	country-flag
1f1e6-1f1e9	flag: Andorra	flags	country-flag
1f1e6-1f1ea	flag: United Arab Emirates	flags	country-flag
1f1e6-1f1eb	flag: Afghanistan	flags	country-flag
1f1e6-1f1ec	flag: Antigua & Barbuda	flags	country-flag
1f1e6-1f1ee	flag: Anguilla	flags	country-flag
1f1e6-1f1f1	flag: Albania	flags	country-flag
1f1e6-1f1f2	flag: Armenia	flags	country-flag
1f1e6-1f1f4	flag: Angola	flags	country-flag
1f1e6-1f1f6	flag: Antarctica	flags	country-flag
1f1e6-1f1f7	flag: Argentina	flags	country-flag
1f1e6-1f1f8	flag: American Samoa	flags	country-flag
1f1e6-1f1f9	flag: Austria	flags	country-flag
1f1e6-1f1fa	flag: Australia	flags	country-flag
1f1e6-1f1fc	flag: Aruba	flags	country-flag
1f1e6-1f1fd	flag: Åland Islands	flags	country-flag
1f1e6-1f1ff	flag: Azerbaijan	flags	country-flag
1f1e7-1f1e6	flag: Bosnia & Herzegovina	flags	country-flag
1f1e7-1f1e7	flag: Barbados	flags	country-flag
1f1e7-1f1e9	flag: Bangladesh	flags	country-flag
1f1e7-1f1ea	flag: Belgium	flags	country-flag
1f1e7-1f1eb	flag: Burkina Faso	flags	country-flag
1f1e7-1f1ec	flag: Bulgaria	flags	country-flag
1f1e7-1f1ed	flag: Bahrain	flags	country-flag
1f1e7-1f1ee	flag: Burundi	flags	country-flag
1f1e7-1f1ef	flag: Benin	flags	country-flag
1f1e7-1f1f2	flag: Bermuda	flags	country-flag
1f1e7-1f1f3	flag: Brunei	flags	country-flag
1f1e7-1f1f4	flag: Bolivia	flags	country-flag
1f1e7-1f1f7	flag: Brazil	flags	country-flag
1f1e7-1f1f8	flag: Bahamas	flags	country-flag
1f1e7-1f1f9	flag: Bhutan	flags	country-flag
1f1e7-1f1fc	flag: Botswana	flags	country-flag
1f1e7-1f1fe	flag: Belarus	flags	country-flag
1f1e7-1f1ff	flag: Belize	flags	country-flag
1f1e8-1f1e6	flag: Canada	flags	country-flag
1f1e8-1f1e8	flag: Cocos (Keeling) Islands	flags	country-flag
1f1e8-1f1e9	flag: Congo - Kinshasa	flags	country-flag
1f1e8-1f1eb	flag: Central African Republic	flags	country-flag
1f1e8-1f1ec	flag: Congo - Brazzaville	flags	country-flag
1f1e8-1f1ed	flag: Switzerland	flags	country-flag
1f1e8-1f1ee	flag: Côte d’Ivoire	flags	country-flag
1f1e8-1f1f0	flag: Cook Islands	flags	country-flag
1f1e8-1f1f1	flag: Chile	flags	country-flag
1f1e8-1f1f2	flag: Cameroon	flags	country-flag
1f1e8-1f1f3	flag: China	flags	country-flag
1f1e8-1f1f4	flag: Colombia	flags	country-flag
1f1e8-1f1f7	flag: Costa Rica	flags	country-flag
1f1e8-1f1fa	flag: Cuba	flags	country-flag
1f1e8-1f1fb	flag: Cape Verde	flags	country-flag
1f1e8-1f1fc	flag: Curaçao	flags	country-flag
1f1e8-1f1fd	flag: Christmas Island	flags	country-flag
1f1e8-1f1fe	flag: Cyprus	flags	country-flag
1f1e8-1f1ff	flag: Czechia	flags	country-flag
1f1e9-1f1ea	flag: Germany	flags	country-flag
1f1e9-1f1ef	flag: Djibouti	flags	country-flag
1f1e9-1f1f0	flag: Denmark	flags	country-flag
1f1e9-1f1f2	flag: Dominica	flags	country-flag
1f1e9-1f1f4	flag: Dominican Republic	flags	country-flag
1f1e9-1f1ff	flag: Algeria	flags	country-flag
1f1ea-1f1e8	flag: Ecuador	flags	country-flag
1f1ea-1f1ea	flag: Estonia	flags	country-flag
1f1ea-1f1ec	flag: Egypt	flags	country-flag
1f1ea-1f1ed	flag: Western Sahara	flags	country-flag
1f1ea-1f1f7	flag: Eritrea	flags	country-flag
1f1ea-1f1f8	flag: Spain	flags	country-flag
1f1ea-1f1f9	flag: Ethiopia	flags	country-flag
1f1ea-1f1fa	flag: European Union	flags	country-flag
1f1eb-1f1ee	flag: Finland	flags	country-flag
1f1eb-1f1ef	flag: Fiji	flags	country-flag
1f1eb-1f1f0	flag: Falkland Islands	flags	country-flag
1f1eb-1f1f2	flag: Micronesia	flags	country-flag
1f1eb-1f1f4	flag: Faroe Islands	flags	country-flag
1f1eb-1f1f7	flag: France	flags	country-flag
1f1ec-1f1e6	flag: Gabon	flags	country-flag
1f1ec-1f1e7	flag: United Kingdom	flags	country-flag
1f1ec-1f1e9	flag: Grenada	flags	country-flag
1f1ec-1f1ea	flag: Georgia	flags	country-flag
1f1ec-1f1eb	flag: French Guiana	flags	country-flag
1f1ec-1f1ec	flag: Guernsey	flags	country-flag
1f1ec-1f1ed	flag: Ghana	flags	country-flag
1f1ec-1f1ee	flag: Gibraltar	flags	country-flag
1f1ec-1f1f1	flag: Greenland	flags	country-flag
1f1ec-1f1f2	flag: Gambia	flags	country-flag
1f1ec-1f1f3	flag: Guinea	flags	country-flag
1f1ec-1f1f5	flag: Guadeloupe	flags	country-flag
1f1ec-1f1f6	flag: Equatorial Guinea	flags	country-flag
1f1ec-1f1f7	flag: Greece	flags	country-flag
1f1ec-1f1f8	flag: South Georgia & South Sandwich Islands	flags	country-flag
1f1ec-1f1f9	flag: Guatemala	flags	country-flag
1f1ec-1f1fa	flag: Guam	flags	country-flag
1f1ec-1f1fc	flag: Guinea-Bissau	flags	country-flag
1f1ec-1f1fe	flag: Guyana	flags	country-flag
1f1ed-1f1f0	flag: Hong Kong SAR China	flags	country-flag
1f1ed-1f1f3	flag: Honduras	flags	country-flag
1f1ed-1f1f7	flag: Croatia	flags	country-flag
1f1ed-1f1f9	flag: Haiti	flags	country-flag
1f1ed-1f1fa	flag: Hungary	flags	country-flag
1f1ee-1f1e8	flag: Canary Islands	flags	country-flag
1f1ee-1f1e9	flag: Indonesia	flags	country-flag
1f1ee-1f1ea	flag: Ireland	flags	country-flag
1f1ee-1f1f1	flag: Israel	flags	country-flag
1f1ee-1f1f2	flag: Isle of Man	flags	country-flag
1f1ee-1f1f3	flag: India	flags	country-flag
1f1ee-1f1f4	flag: British Indian Ocean Territory	flags	country-flag
1f1ee-1f1f6	flag: Iraq	flags	country-flag
1f1ee-1f1f7	flag: Iran	flags	country-flag
1f1ee-1f1f8	flag: Iceland	flags	country-flag
1f1ee-1f1f9	flag: Italy	flags	country-flag
1f1ef-1f1ea	flag: Jersey	flags	country-flag
1f1ef-1f1f2	flag: Jamaica	flags	country-flag
1f1ef-1f1f4	flag: Jordan	flags	country-flag
1f1ef-1f1f5	flag: Japan	flags	country-flag
1f1f0-1f1ea	flag: Kenya	flags	country-flag
1f1f0-1f1ec	flag: Kyrgyzstan	flags	country-flag
1f1f0-1f1ed	flag: Cambodia	flags	country-flag
1f1f0-1f1ee	flag: Kiribati	flags	country-flag
1f1f0-1f1f2	flag: Comoros	flags	country-flag
1f1f0-1f1f3	flag: St. Kitts & Nevis	flags	country-flag
1f1f0-1f1f5	flag: North Korea	flags	country-flag
1f1f0-1f1f7	flag: South Korea	flags	country-flag
1f1f0-1f1fc	flag: Kuwait	flags	country-flag
1f1f0-1f1fe	flag: Cayman Islands	flags	country-flag
1f1f0-1f1ff	flag: Kazakhstan	flags	country-flag
1f1f1-1f1e6	flag: Laos	flags	country-flag
1f1f1-1f1e7	flag: Lebanon	flags	country-flag
1f1f1-1f1e8	flag: St. Lucia	flags	country-flag
1f1f1-1f1ee	flag: Liechtenstein	flags	country-flag
1f1f1-1f1f0	flag: Sri Lanka	flags	country-flag
1f1f1-1f1f7	flag: Liberia	flags	country-flag
1f1f1-1f1f8	flag: Lesotho	flags	country-flag
1f1f1-1f1f9	flag: Lithuania	flags	country-flag
1f1f1-1f1fa	flag: Luxembourg	flags	country-flag
1f1f1-1f1fb	flag: Latvia	flags	country-flag
1f1f1-1f1fe	flag: Libya	flags	country-flag
1f1f2-1f1e6	flag: Morocco	flags	country-flag
1f1f2-1f1e8	flag: Monaco	flags	country-flag
1f1f2-1f1e9	flag: Moldova	flags	country-flag
1f1f2-1f1ea	flag: Montenegro	flags	country-flag
1f1f2-1f1ec	flag: Madagascar	flags	country-flag
1f1f2-1f1ed	flag: Marshall Islands	flags	country-flag
1f1f2-1f1f0	flag: North Macedonia	flags	country-flag
1f1f2-1f1f1	flag: Mali	flags	country-flag
1f1f2-1f1f2	flag: Myanmar (Burma)	flags	country-flag
1f1f2-1f1f3	flag: Mongolia	flags	country-flag
1f1f2-1f1f4	flag: Macao SAR China	flags	country-flag
1f1f2-1f1f5	flag: Northern Mariana Islands	flags	country-flag
1f1f2-1f1f6	flag: Martinique	flags	country-flag
1f1f2-1f1f7	flag: Mauritania	flags	country-flag
1f1f2-1f1f8	flag: Montserrat	flags	country-flag
1f1f2-1f1f9	flag: Malta	flags	country-flag
1f1f2-1f1fa	flag: Mauritius	flags	country-flag
1f1f2-1f1fb	flag: Maldives	flags	country-flag
1f1f2-1f1fc	flag: Malawi	flags	country-flag
1f1f2-1f1fd	flag: Mexico	flags	country-flag
1f1f2-1f1fe	flag: Malaysia	flags	country-flag
1f1f2-1f1ff	flag: Mozambique	flags	country-flag
1f1f3-1f1e6	flag: Namibia	flags	country-flag
1f1f3-1f1e8	flag: New Caledonia	flags	country-flag
1f1f3-1f1ea	flag: Niger	flags	country-flag
1f1f3-1f1eb	flag: Norfolk Island	flags	country-flag
1f1f3-1f1ec	flag: Nigeria	flags	country-flag
1f1f3-1f1ee	flag: Nicaragua	flags	country-flag
1f1f3-1f1f1	flag: Netherlands	flags	country-flag
1f1f3-1f1f4	flag: Norway	flags	country-flag
1f1f3-1f1f5	flag: Nepal	flags	country-flag
1f1f3-1f1f7	flag: Nauru	flags	country-flag
1f1f3-1f1fa	flag: Niue	flags	country-flag
1f1f3-1f1ff	flag: New Zealand	flags	country-flag
1f1f4-1f1f2	flag: Oman	flags	country-flag
1f1f5-1f1e6	flag: Panama	flags	country-flag
1f1f5-1f1ea	flag: Peru	flags	country-flag
1f1f5-1f1eb	flag: French Polynesia	flags	country-flag
1f1f5-1f1ec	flag: Papua New Guinea	flags	country-flag
1f1f5-1f1ed	flag: Philippines	flags	country-flag
1f1f5-1f1f0	flag: Pakistan	flags	country-flag
1f1f5-1f1f1	flag: Poland	flags	country-flag
1f1f5-1f1f2	flag: St. Pierre & Miquelon	flags	country-flag
1f1f5-1f1f3	flag: Pitcairn Islands	flags	country-flag
1f1f5-1f1f7	flag: Puerto Rico	flags	country-flag
1f1f5-1f1f8	flag: Palestinian Territories	flags	country-flag
1f1f5-1f1f9	flag: Portugal	flags	country-flag
1f1f5-1f1fc	flag: Palau	flags	country-flag
1f1f5-1f1fe	flag: Paraguay	flags	country-flag
1f1f6-1f1e6	flag: Qatar	flags	country-flag
1f1f7-1f1f4	flag: Romania	flags	country-flag
1f1f7-1f1f8	flag: Serbia	flags	country-flag
1f1f7-1f1fa	flag: Russia	flags	country-flag
1f1f7-1f1fc	flag: Rwanda	flags	country-flag
1f1f8-1f1e6	flag: Saudi Arabia	flags	country-flag
1f1f8-1f1e7	flag: Solomon Islands	flags	country-flag
1f1f8-1f1e8	flag: Seychelles	flags	country-flag
1f1f8-1f1e9	flag: Sudan	flags	country-flag
1f1f8-1f1ea	flag: Sweden	flags	country-flag
1f1f8-1f1ec	flag: Singapore	flags	country-flag
1f1f8-1f1ed	flag: St. Helena	flags	country-flag
1f1f8-1f1ee	flag: Slovenia	flags	country-flag
1f1f8-1f1f0	flag: Slovakia	flags	country-flag
1f1f8-1f1f1	flag: Sierra Leone	flags	country-flag
1f1f8-1f1f2	flag: San Marino	flags	country-flag
1f1f8-1f1f3	flag: Senegal	flags	country-flag
1f1f8-1f1f4	flag: Somalia	flags	country-flag
1f1f8-1f1f7	flag: Suriname	flags	country-flag
1f1f8-1f1f8	flag: South Sudan	flags	country-flag
1f1f8-1f1f9	flag: São Tomé & Príncipe	flags	country-flag
1f1f8-1f1fb	flag: El Salvador	flags	country-flag
1f1f8-1f1fd	flag: Sint Maarten	flags	country-flag
1f1f8-1f1fe	flag: Syria	flags	country-flag
1f1f8-1f1ff	flag: Eswatini	flags	country-flag
1f1f9-1f1e6	flag: Tristan da Cunha	flags	country-flag
1f1f9-1f1e8	flag: Turks & Caicos Islands	flags	country-flag
1f1f9-1f1ec	flag: Togo	flags	country-flag
1f1f9-1f1ed	flag: Thailand	flags	country-flag
1f1f9-1f1ef	flag: Tajikistan	flags	country-flag
1f1f9-1f1f0	flag: Tokelau	flags	country-flag
1f1f9-1f1f1	flag: Timor-Leste	flags	country-flag
1f1f9-1f1f2	flag: Turkmenistan	flags	country-flag
1f1f9-1f1f3	flag: Tunisia	flags	country-flag
1f1f9-1f1f4	flag: Tonga	flags	country-flag
1f1f9-1f1f7	flag: Türkiye	flags	country-flag
1f1f9-1f1f9	flag: Trinidad & Tobago	flags	country-flag
1f1f9-1f1fb	flag: Tuvalu	flags	country-flag
1f1f9-1f1fc	flag: Taiwan	flags	country-flag
1f1f9-1f1ff	flag: Tanzania	flags	country-flag
1f1fa-1f1e6	flag: Ukraine	flags	country-flag
1f1fa-1f1ec	flag: Uganda	flags	country-flag
1f1fa-1f1f3	flag: United Nations	flags	country-flag
1f1fa-1f1f8	flag: United States	flags	country-flag
1f1fa-1f1fe	flag: Uruguay	flags	country-flag
1f1fa-1f1ff	flag: Uzbekistan	flags	country-flag
1f1fb-1f1e6	flag: Vatican City	flags	country-flag
1f1fb-1f1e8	flag: St. Vincent & Grenadines	flags	country-flag
1f1fb-1f1ea	flag: Venezuela	flags	country-flag
1f1fb-1f1ec	flag: British Virgin Islands	flags	country-flag
1f1fb-1f1ee	flag: U.S. Virgin Islands	flags	country-flag
1f1fb-1f1f3	flag: Vietnam	flags	country-flag
1f1fb-1f1fa	flag: Vanuatu	flags	country-flag
1f1fc-1f1eb	flag: Wallis & Futuna	flags	country-flag
1f1fc-1f1f8	flag: Samoa	flags	country-flag
1f1fd-1f1f0	flag: Kosovo	flags	country-flag
1f1fe-1f1ea	flag: Yemen	flags	country-flag
1f1fe-1f1f9	flag: Mayotte	flags	country-flag
1f1ff-1f1e6	flag: South Africa	flags	country-flag
1f1ff-1f1f2	flag: Zambia	flags	country-flag
1f1ff-1f1fc	flag: Zimbabwe	flags	country-flag
1f201	Japanese “here” button	symbols	alphanum
1f202	Japanese “service charge” button	symbols	alphanum
1f21a	Japanese “free of charge” button	symbols	alphanum
1f22f	Japanese “reserved” button	symbols	alphanum
1f232	Japanese “prohibited” button	symbols	alphanum
1f233	Japanese “vacancy” button	symbols	alphanum
1f234	Japanese “passing grade” button	symbols	alphanum
1f235	Japanese “no vacancy” button	symbols	alphanum
1f236	Japanese “not free of charge” button	symbols	alphanum
1f237	Japanese “monthly amount” button	symbols	alphanum
1f238	Japanese “application” button	symbols	alphanum
1f239	Japanese “discount” button	symbols	alphanum
1f23a	Japanese “open for business” button	symbols	alphanum
1f250	Japanese “bargain” button	symbols	alphanum
1f251	Japanese “acceptable” button	symbols	alphanum
1f300	cyclone	travel-places	sky-weather
1f301	foggy	travel-places	place-other
1f302	closed umbrella	travel-places	sky-weather
1f303	night with stars	travel-places	place-other
1f304	sunrise over mountains	travel-places	place-other
1f305	sunrise	travel-places	place-other
1f306	cityscape at dusk	travel-places	place-other
1f307	sunset	travel-places	place-other
1f308	rainbow	travel-places	sky-weather
1f309	bridge at night	travel-places	place-other
1f30a	water wave	travel-places	sky-weather
1f30b	volcano	travel-places	place-geographic
1f30c	milky way	travel-places	sky-weather
1f30d	globe showing Europe-Africa	travel-places	place-map
1f30e	globe showing Americas	travel-places	place-map
1f30f	globe showing Asia-Australia	travel-places	place-map
1f310	globe with meridians	travel-places	place-map
1f311	new moon	travel-places	sky-weather
1f312	waxing crescent moon	travel-places	sky-weather
1f313	first quarter moon	travel-places	sky-weather
1f314	waxing gibbous moon	travel-places	sky-weather
1f315	full moon	travel-places	sky-weather
1f316	waning gibbous moon	travel-places	sky-weather
1f317	last quarter moon	travel-places	sky-weather
1f318	waning crescent moon	travel-places	sky-weather
1f319	crescent moon	travel-places	sky-weather
1f31a	new moon face	travel-places	sky-weather
1f31b	first quarter moon face	travel-places	sky-weather
1f31c	last quarter moon face	travel-places	sky-weather
1f31d	full moon face	travel-places	sky-weather
1f31e	sun with face	travel-places	sky-weather
1f31f	glowing star	travel-places	sky-weather
1f320	shooting star	travel-places	sky-weather
1f321	thermometer	travel-places	sky-weather
1f324	sun behind small cloud	travel-places	sky-weather
1f325	sun behind large cloud	travel-places	sky-weather
1f326	sun behind rain cloud	travel-places	sky-weather
1f327	cloud with rain	travel-places	sky-weather
1f328	cloud with snow	travel-places	sky-weather
1f329	cloud with lightning	travel-places	sky-weather
1f32a	tornado	travel-places	sky-weather
1f32b	fog	travel-places	sky-weather
1f32c	wind face	travel-places	sky-weather
1f32d	hot dog	food-drink	food-prepared
1f32e	taco	food-drink	food-prepared
1f32f	burrito	food-drink	food-prepared
1f330	chestnut	food-drink	food-vegetable
1f331	seedling	animals-nature	plant-other
1f332	evergreen tree	animals-nature	plant-other
1f333	deciduous tree	animals-nature	plant-other
1f334	palm tree	animals-nature	plant-other
1f335	cactus	animals-nature	plant-other
1f336	hot pepper	food-drink	food-vegetable
1f337	tulip	animals-nature	plant-flower
1f338	cherry blossom	animals-nature	plant-flower
1f339	rose	animals-nature	plant-flower
1f33a	hibiscus	animals-nature	plant-flower
1f33b	sunflower	animals-nature	plant-flower
1f33c	blossom	animals-nature	plant-flower
1f33d	ear of corn	food-drink	food-vegetable
1f33e	sheaf of rice	animals-nature	plant-other
1f33f	herb	animals-nature	plant-other
1f340	four leaf clover	animals-nature	plant-other
1f341	maple leaf	animals-nature	plant-other
1f342	fallen leaf	animals-nature	plant-other
1f343	leaf fluttering in wind	animals-nature	plant-other
1f344	mushroom	animals-nature	plant-other
1f345	tomato	food-drink	food-fruit
1f346	eggplant	food-drink	food-vegetable
1f347	grapes	food-drink	food-fruit
1f348	melon	food-drink	food-fruit
1f349	watermelon	food-drink	food-fruit
1f34a	tangerine	food-drink	food-fruit
1f34b	lemon	food-drink	food-fruit
1f34c	banana	food-drink	food-fruit
1f34d	pineapple	food-drink	food-fruit
1f34e	red apple	food-drink	food-fruit
1f34f	green apple	food-drink	food-fruit
1f350	pear	food-drink	food-fruit
1f351	peach	food-drink	food-fruit
1f352	cherries	food-drink	food-fruit
1f353	strawberry	food-drink	food-fruit
1f354	hamburger	food-drink	food-prepared
1f355	pizza	food-drink	food-prepared
1f356	meat on bone	food-drink	food-prepared
1f357	poultry leg	food-drink	food-prepared
1f358	rice cracker	food-drink	food-asian
1f359	rice ball	food-drink	food-asian
1f35a	cooked rice	food-drink	food-asian
1f35b	curry rice	food-drink	food-asian
1f35c	steaming bowl	food-drink	food-asian
1f35d	spaghetti	food-drink	food-asian
1f35e	bread	food-drink	food-prepared
1f35f	french fries	food-drink	food-prepared
1f360	roasted sweet potato	food-drink	food-asian
1f361	dango	food-drink	food-asian
1f362	oden	food-drink	food-asian
1f363	sushi	food-drink	food-asian
1f364	fried shrimp	food-drink	food-asian
1f365	fish cake with swirl	food-drink	food-asian
1f366	soft ice cream	food-drink	food-sweet
1f367	shaved ice	food-drink	food-sweet
1f368	ice cream	food-drink	food-sweet
1f369	doughnut	food-drink	food-sweet
1f36a	cookie	food-drink	food-sweet
1f36b	chocolate bar	food-drink	food-sweet
1f36c	candy	food-drink	food-sweet
1f36d	lollipop	food-drink	food-sweet
1f36e	custard	food-drink	food-sweet
1f36f	honey pot	food-drink	food-sweet
1f370	shortcake	food-drink	food-sweet
1f371	bento box	food-drink	food-asian
1f372	pot of food	food-drink	food-prepared
1f373	cooking	food-drink	food-prepared
1f374	fork and knife	food-drink	dishware
1f375	teacup without handle	food-drink	drink
1f376	sake	food-drink	drink
1f377	wine glass	food-drink	drink
1f378	cocktail glass	food-drink	drink
1f379	tropical drink	food-drink	drink
1f37a	beer mug	food-drink	drink
1f37b	clinking beer mugs	food-drink	drink
1f37c	baby bottle	food-drink	drink
1f37d	fork and knife with plate	food-drink	dishware
1f37e	bottle with popping cork	food-drink	drink
1f37f	popcorn	food-drink	food-prepared
1f380	ribbon	activities	event
1f381	wrapped gift	activities	event
1f382	birthday cake	food-drink	food-sweet
1f383	jack-o-lantern	activities	event
1f384	Christmas tree	activities	event
1f385	Santa Claus	people-body	person-fantasy
1f386	fireworks	activities	event
1f387	sparkler	activities	event
1f388	balloon	activities	event
1f389	party popper	activities	event
1f38a	confetti ball	activities	event
1f38b	tanabata tree	activities	event
1f38c	crossed flags	flags	flag
1f38d	pine decoration	activities	event
1f38e	Japanese dolls	activities	event
1f38f	carp streamer	activities	event
1f390	wind chime	activities	event
1f391	moon viewing ceremony	activities	event
1f392	backpack	objects	clothing
1f393	graduation cap	objects	clothing
1f396	military medal	activities	award-medal
1f397	reminder ribbon	activities	event
1f399	studio microphone	objects	music
1f39a	level slider	objects	music
1f39b	control knobs	objects	music
1f39e	film frames	objects	light-video
1f39f	admission tickets	activities	event
1f3a0	carousel horse	travel-places	place-other
1f3a1	ferris wheel	travel-places	place-other
1f3a2	roller coaster	travel-places	place-other
1f3a3	fishing pole	activities	sport
1f3a4	microphone	objects	music
1f3a5	movie camera	objects	light-video
1f3a6	cinema	symbols	av-symbol
1f3a7	headphone	objects	music
1f3a8	artist palette	activities	arts-crafts
1f3a9	top hat	objects	clothing
1f3aa	circus tent	travel-places	place-other
1f3ab	ticket	activities	event
1f3ac	clapper board	objects	light-video
1f3ad	performing arts	activities	arts-crafts
1f3ae	video game	activities	game
1f3af	bullseye	activities	game
1f3b0	slot machine	activities	game
1f3b1	pool 8 ball	activities	game
1f3b2	game die	activities	game
1f3b3	bowling	activities	sport
1f3b4	flower playing cards	activities	game
1f3b5	musical note	objects	music
1f3b6	musical notes	objects	music
1f3b7	saxophone	objects	musical-instrument
1f3b8	guitar	objects	musical-instrument
1f3b9	musical keyboard	objects	musical-instrument
1f3ba	trumpet	objects	musical-instrument
1f3bb	violin	objects	musical-instrument
1f3bc	musical score	objects	music
1f3bd	running shirt	activities	sport
1f3be	tennis	activities	sport
1f3bf	skis	activities	sport
1f3c0	basketball	activities	sport
1f3c1	chequered flag	flags	flag
1f3c2	snowboarder	people-body	person-sport
1f3c3	person running	people-body	person-activity
1f3c3-200d-2640	woman running	people-body	person-activity
1f3c3-200d-2642	man running	people-body	person-activity
1f3c4	person surfing	people-body	person-sport
1f3c4-200d-2640	woman surfing	people-body	person-sport
1f3c4-200d-2642	man surfing	people-body	person-sport
1f3c5	sports medal	activities	award-medal
1f3c6	trophy	activities	award-medal
1f3c7	horse racing	people-body	person-sport
1f3c8	american football	activities	sport
1f3c9	rugby football	activities	sport
1f3ca	person swimming	people-body	person-sport
1f3ca-200d-2640	woman swimming	people-body	person-sport
1f3ca-200d-2642	man swimming	people-body	person-sport
1f3cb	person lifting weights	people-body	person-sport
1f3cb-200d-2640	woman lifting weights	people-body	person-sport
1f3cb-200d-2642	man lifting weights	people-body	person-sport
1f3cc	person golfing	people-body	person-sport
1f3cc-200d-2640	woman golfing	people-body	person-sport
1f3cc-200d-2642	man golfing	people-body	person-sport
1f3cd	motorcycle	travel-places	transport-ground
1f3ce	racing car	travel-places	transport-ground
1f3cf	cricket game	activities	sport
1f3d0	volleyball	activities	sport
1f3d1	field hockey	activities	sport
1f3d2	ice hockey	activities	sport
1f3d3	ping pong	activities	sport
1f3d4	snow-capped mountain	travel-places	place-geographic
1f3d5	camping	travel-places	place-geographic
1f3d6	beach with umbrella	travel-places	place-geographic
1f3d7	building construction	travel-places	place-building
1f3d8	houses	travel-places	place-building
1f3d9	cityscape	travel-places	place-other
1f3da	derelict house	travel-places	place-building
1f3db	classical building	travel-places	place-building
1f3dc	desert	travel-places	place-geographic
1f3dd	desert island	travel-places	place-geographic
1f3de	national park	travel-places	place-geographic
1f3df	stadium	travel-places	place-building
1f3e0	house	travel-places	place-building
1f3e1	house with garden	travel-places	place-building
1f3e2	office building	travel-places	place-building
1f3e3	Japanese post office	travel-places	place-building
1f3e4	post office	travel-places	place-building
1f3e5	hospital	travel-places	place-building
1f3e6	bank	travel-places	place-building
1f3e7	ATM sign	symbols	transport-sign
1f3e8	hotel	travel-places	place-building
1f3e9	love hotel	travel-places	place-building
1f3ea	convenience store	travel-places	place-building
1f3eb	school	travel-places	place-building
1f3ec	department store	travel-places	place-building
1f3ed	factory	travel-places	place-building
1f3ee	red paper lantern	objects	light-video
1f3ef	Japanese castle	travel-places	place-building
1f3f0	castle	travel-places	place-building
1f3f3	white flag	flags	flag
1f3f3-200d-1f308	rainbow flag	flags	flag
1f3f3-200d-26a7	transgender flag	flags	flag
1f3f4	black flag	flags	flag
1f3f4-200d-2620	pirate flag	flags	flag
1f3f4-e0067-e0062-e0065-e006e-e0067-e007f	flag: England	flags	subdivision-flag
1f3f4-e0067-e0062-e0073-e0063-e0074-e007f	flag: Scotland	flags	subdivision-flag
1f3f4-e0067-e0062-e0077-e006c-e0073-e007f	flag: Wales	flags	subdivision-flag
1f3f5	rosette	animals-nature	plant-flower
1f3f7	label	objects	book-paper
1f3f8	badminton	activities	sport
1f3f9	bow and arrow	objects	tool
1f3fa	amphora	food-drink	dishware
1f400	rat	animals-nature	animal-mammal
1f401	mouse	animals-nature	animal-mammal
1f402	ox	animals-nature	animal-mammal
1f403	water buffalo	animals-nature	animal-mammal
1f404	cow	animals-nature	animal-mammal
1f405	tiger	animals-nature	animal-mammal
1f406	leopard	animals-nature	animal-mammal
1f407	rabbit	animals-nature	animal-mammal
1f408	cat	animals-nature	animal-mammal
1f408-200d-2b1b	black cat	animals-nature	animal-mammal
1f409	dragon	animals-nature	animal-reptile
1f40a	crocodile	animals-nature	animal-reptile
1f40b	whale	animals-nature	animal-marine
1f40c	snail	animals-nature	animal-bug
1f40d	snake	animals-nature	animal-reptile
1f40e	horse	animals-nature	animal-mammal
1f40f	ram	animals-nature	animal-mammal
1f410	goat	animals-nature	animal-mammal
1f411	ewe	animals-nature	animal-mammal
1f412	monkey	animals-nature	animal-mammal
1f413	rooster	animals-nature	animal-bird
1f414	chicken	animals-nature	animal-bird
1f415	dog	animals-nature	animal-mammal
1f415-200d-1f9ba	service dog	animals-nature	animal-mammal
1f416	pig	animals-nature	animal-mammal
1f417	boar	animals-nature	animal-mammal
1f418	elephant	animals-nature	animal-mammal
1f419	octopus	animals-nature	animal-marine
1f41a	spiral shell	animals-nature	animal-marine
1f41b	bug	animals-nature	animal-bug
1f41c	ant	animals-nature	animal-bug
1f41d	honeybee	animals-nature	animal-bug
1f41e	lady beetle	animals-nature	animal-bug
1f41f	fish	animals-nature	animal-marine
1f420	tropical fish	animals-nature	animal-marine
1f421	blowfish	animals-nature	animal-marine
1f422	turtle	animals-nature	animal-reptile
1f423	hatching chick	animals-nature	animal-bird
1f424	baby chick	animals-nature	animal-bird
1f425	front-facing baby chick	animals-nature	animal-bird
1f426	bird	animals-nature	animal-bird
1f426-200d-2b1b	black bird	animals-nature	animal-bird
1f427	penguin	animals-nature	animal-bird
1f428	koala	animals-nature	animal-mammal
1f429	poodle	animals-nature	animal-mammal
1f42a	camel	animals-nature	animal-mammal
1f42b	two-hump camel	animals-nature	animal-mammal
1f42c	dolphin	animals-nature	animal-marine
1f42d	mouse face	animals-nature	animal-mammal
1f42e	cow face	animals-nature	animal-mammal
1f42f	tiger face	animals-nature	animal-mammal
1f430	rabbit face	animals-nature	animal-mammal
1f431	cat face	animals-nature	animal-mammal
1f432	dragon face	animals-nature	animal-reptile
1f433	spouting whale	animals-nature	animal-marine
1f434	horse face	animals-nature	animal-mammal
1f435	monkey face	animals-nature	animal-mammal
1f436	dog face	animals-nature	animal-mammal
1f437	pig face	animals-nature	animal-mammal
1f438	frog	animals-nature	animal-amphibian
1f439	hamster	animals-nature	animal-mammal
1f43a	wolf	animals-nature	animal-mammal
1f43b	bear	animals-nature	animal-mammal
1f43b-200d-2744	polar bear	animals-nature	animal-mammal
1f43c	panda	animals-nature	animal-mammal
1f43d	pig nose	animals-nature	animal-mammal
1f43e	paw prints	animals-nature	animal-mammal
1f43f	chipmunk	animals-nature	animal-mammal
1f440	eyes	people-body	body-parts
1f441	eye	people-body	body-parts
1f441-200d-1f5e8	eye in speech bubble	smileys-emotion	emotion
1f442	ear	people-body	body-parts
1f443	nose	people-body	body-parts
1f444	mouth	people-body	body-parts
1f445	tongue	people-body	body-parts
1f446	backhand index pointing up	people-body	hand-single-finger
1f447	backhand index pointing down	people-body	hand-single-finger
1f448	backhand index pointing left	people-body	hand-single-finger
1f449	backhand index pointing right	people-body	hand-single-finger
1f44a	oncoming fist	people-body	hand-fingers-closed
1f44b	waving hand	people-body	hand-fingers-open
1f44c	OK hand	people-body	hand-fingers-partial
1f44d	thumbs up	people-body	hand-fingers-closed
1f44e	thumbs down	people-body	hand-fingers-closed
1f44f	clapping hands	people-body	hands
1f450	open hands	people-body	hands
1f451	crown	objects	clothing
1f452	woman’s hat	objects	clothing
1f453	glasses	objects	clothing
1f454	necktie	objects	clothing
1f455	t-shirt	objects	clothing
1f456	jeans	objects	clothing
1f457	dress	objects	clothing
1f458	kimono	objects	clothing
1f459	bikini	objects	clothing
1f45a	woman’s clothes	objects	clothing
1f45b	purse	objects	clothing
1f45c	handbag	objects	clothing
1f45d	clutch bag	objects	clothing
1f45e	man’s shoe	objects	clothing
1f45f	running shoe	objects	clothing
1f460	high-heeled shoe	objects	clothing
1f461	woman’s sandal	objects	clothing
1f462	woman’s boot	objects	clothing
1f463	footprints	people-body	person-symbol
1f464	bust in silhouette	people-body	person-symbol
1f465	busts in silhouette	people-body	person-symbol
1f466	boy	people-body	person
1f467	girl	people-body	person
1f468	man	people-body	person
1f468-1f3fb-200d-1f9b0	man: light skin tone, red hair	people-body	person
1f468-1f3fb-200d-1f9b1	man: light skin tone, curly hair	people-body	person
1f468-1f3fb-200d-1f9b2	man: light skin tone, bald	people-body	person
1f468-1f3fb-200d-1f9b3	man: light skin tone, white hair	people-body	person
1f468-1f3fc-200d-1f9b0	man: medium-light skin tone, red hair	people-body	person
1f468-1f3fc-200d-1f9b1	man: medium-light skin tone, curly hair	people-body	person
1f468-1f3fc-200d-1f9b2	man: medium-light skin tone, bald	people-body	person
1f468-1f3fc-200d-1f9b3	man: medium-light skin tone, white hair	people-body	person
1f468-1f3fd-200d-1f9b0	man: medium skin tone, red hair	people-body	person
1f468-1f3fd-200d-1f9b1	man: medium skin tone, curly hair	people-body	person
1f468-1f3fd-200d-1f9b2	man: medium skin tone, bald	people-body	person
1f468-1f3fd-200d-1f9b3	man: medium skin tone, white hair	people-body	person
1f468-1f3fe-200d-1f9b0	man: medium-dark skin tone, red hair	people-body	person
1f468-1f3fe-200d-1f9b1	man: medium-dark skin tone, curly hair	people-body	person
1f468-1f3fe-200d-1f9b2	man: medium-dark skin tone, bald	people-body	person
1f468-1f3fe-200d-1f9b3	man: medium-dark skin tone, white hair	people-body	person
1f468-1f3ff-200d-1f9b0	man: dark skin tone, red hair	people-body	person
1f468-1f3ff-200d-1f9b1	man: dark skin tone, curly hair	people-body	person
1f468-1f3ff-200d-1f9b2	man: dark skin tone, bald	people-body	person
1f468-1f3ff-200d-1f9b3	man: dark skin tone, white hair	people-body	person
1f468-200d-1f33e	man farmer	people-body	person-role
1f468-200d-1f373	man cook	people-body	person-role
1f468-200d-1f37c	man feeding baby	people-body	person-role
1f468-200d-1f393	man student	people-body	person-role
1f468-200d-1f3a4	man singer	people-body	person-role
1f468-200d-1f3a8	man artist	people-body	person-role
1f468-200d-1f3eb	man teacher	people-body	person-role
1f468-200d-1f3ed	man factory worker	people-body	person-role
1f468-200d-1f466	family: man, boy	people-body	family
1f468-200d-1f466-200d-1f466	family: man, boy, boy	people-body	family
1f468-200d-1f467	family: man, girl	people-body	family
1f468-200d-1f467-200d-1f466	family: man, girl, boy	people-body	family
1f468-200d-1f467-200d-1f467	family: man, girl, girl	people-body	family
1f468-200d-1f468-200d-1f466	family: man, man, boy	people-body	family
1f468-200d-1f468-200d-1f466-200d-1f466	family: man, man, boy, boy	people-body	family
1f468-200d-1f468-200d-1f467	family: man, man, girl	people-body	family
1f468-200d-1f468-200d-1f467-200d-1f467	family: man, man, girl, girl	people-body	family
1f468-200d-1f469-200d-1f466	family: man, woman, boy	people-body	family
1f468-200d-1f469-200d-1f466-200d-1f466	family: man, woman, boy, boy	people-body	family
1f468-200d-1f469-200d-1f467	family: man, woman, girl	people-body	family
1f468-200d-1f469-200d-1f467-200d-1f466	family: man, woman, girl, boy	people-body	family
1f468-200d-1f469-200d-1f467-200d-1f467	family: man, woman, girl, girl	people-body	family
1f468-200d-1f4bb	man technologist	people-body	person-role
1f468-200d-1f4bc	man office worker	people-body	person-role
1f468-200d-1f527	man mechanic	people-body	person-role
1f468-200d-1f52c	man scientist	people-body	person-role
1f468-200d-1f680	man astronaut	people-body	person-role
1f468-200d-1f692	man firefighter	people-body	person-role
1f468-200d-1f9af	man with white cane	people-body	person-activity
1f468-200d-1f9b0	man: red hair	people-body	person
1f468-200d-1f9b1	man: curly hair	people-body	person
1f468-200d-1f9b2	man: bald	people-body	person
1f468-200d-1f9b3	man: white hair	people-body	person
1f468-200d-1f9bc	man in motorized wheelchair	people-body	person-activity
1f468-200d-1f9bd	man in manual wheelchair	people-body	person-activity
1f468-200d-2695	man health worker	people-body	person-role
1f468-200d-2696	man judge	people-body	person-role
1f468-200d-2708	man pilot	people-body	person-role
1f468-200d-2764-200d-1f468	couple with heart: man, man	people-body	family
1f468-200d-2764-200d-1f48b-200d-1f468	kiss: man, man	people-body	family
1f469	woman	people-body	person
1f469-1f3fb-200d-1f9b0	woman: light skin tone, red hair	people-body	person
1f469-1f3fb-200d-1f9b1	woman: light skin tone, curly hair	people-body	person
1f469-1f3fb-200d-1f9b2	woman: light skin tone, bald	people-body	person
1f469-1f3fb-200d-1f9b3	woman: light skin tone, white hair	people-body	person
1f469-1f3fc-200d-1f9b0	woman: medium-light skin tone, red hair	people-body	person
1f469-1f3fc-200d-1f9b1	woman: medium-light skin tone, curly hair	people-body	person
1f469-1f3fc-200d-1f9b2	woman: medium-light skin tone, bald	people-body	person
1f469-1f3fc-200d-1f9b3	woman: medium-light skin tone, white hair	people-body	person
1f469-1f3fd-200d-1f9b0	woman: medium skin tone, red hair	people-body	person
1f469-1f3fd-200d-1f9b1	woman: medium skin tone, curly hair	people-body	person
1f469-1f3fd-200d-1f9b2	woman: medium skin tone, bald	people-body	person
1f469-1f3fd-200d-1f9b3	woman: medium skin tone, white hair	people-body	person
1f469-1f3fe-200d-1f9b0	woman: medium-dark skin tone, red hair	people-body	person
1f469-1f3fe-200d-1f9b1	woman: medium-dark skin tone, curly hair	people-body	person
1f469-1f3fe-200d-1f9b2	woman: medium-dark skin tone, bald	people-body	person
1f469-1f3fe-200d-1f9b3	woman: medium-dark skin tone, white hair	people-body	person
1f469-1f3ff-200d-1f9b0	woman: dark skin tone, red hair	people-body	person
1f469-1f3ff-200d-1f9b1	woman: dark skin tone, curly hair	people-body	person
1f469-1f3ff-200d-1f9b2	woman: dark skin tone, bald	people-body	person
1f469-1f3ff-200d-1f9b3	woman: dark skin tone, white hair	people-body	person
1f469-200d-1f33e	woman farmer	people-body	person-role
1f469-200d-1f373	woman cook	people-body	person-role
1f469-200d-1f37c	woman feeding baby	people-body	person-role
1f469-200d-1f393	woman student	people-body	person-role
1f469-200d-1f3a4	woman singer	people-body	person-role
1f469-200d-1f3a8	woman artist	people-body	person-role
1f469-200d-1f3eb	woman teacher	people-body	person-role
1f469-200d-1f3ed	woman factory worker	people-body	person-role
1f469-200d-1f466	family: woman, boy	people-body	family
1f469-200d-1f466-200d-1f466	family: woman, boy, boy	people-body	family
1f469-200d-1f467	family: woman, girl	people-body	family
1f469-200d-1f467-200d-1f466	family: woman, girl, boy	people-body	family
1f469-200d-1f467-200d-1f467	family: woman, girl, girl	people-body	family
1f469-200d-1f469-200d-1f466	family: woman, woman, boy	people-body	family
1f469-200d-1f469-200d-1f466-200d-1f466	family: woman, woman, boy, boy	people-body	family
1f469-200d-1f469-200d-1f467	family: woman, woman, girl	people-body	family
1f469-200d-1f469-200d-1f467-200d-1f467	family: woman, woman, girl, girl	people-body	family
1f469-200d-1f4bb	woman technologist	people-body	person-role
1f469-200d-1f4bc	woman office worker	people-body	person-role
1f469-200d-1f527	woman mechanic	people-body	person-role
1f469-200d-1f52c	woman scientist	people-body	person-role
1f469-200d-1f680	woman astronaut	people-body	person-role
1f469-200d-1f692	woman firefighter	people-body	person-role
1f469-200d-1f9af	woman with white cane	people-body	person-activity
1f469-200d-1f9b0	woman: red hair	people-body	person
1f469-200d-1f9b1	woman: curly hair	people-body	person
1f469-200d-1f9b2	woman: bald	people-body	person
1f469-200d-1f9b3	woman: white hair	people-body	person
1f469-200d-1f9bc	woman in motorized wheelchair	people-body	person-activity
1f469-200d-1f9bd	woman in manual wheelchair	people-body	person-activity
1f469-200d-2695	woman health worker	people-body	person-role
1f469-200d-2696	woman judge	people-body	person-role
1f469-200d-2708	woman pilot	people-body	person-role
1f469-200d-2764-200d-1f468	couple with heart: woman, man	people-body	family
1f469-200d-2764-200d-1f469	couple with heart: woman, woman	people-body	family
1f469-200d-2764-200d-1f48b-200d-1f468	kiss: woman, man	people-body	family
1f469-200d-2764-200d-1f48b-200d-1f469	kiss: woman, woman	people-body	family
1f46a	family	people-body	person-symbol
1f46b	woman and man holding hands	people-body	family
1f46c	men holding hands	people-body	family
1f46d	women holding hands	people-body	family
1f46e	police officer	people-body	person-role
1f46e-200d-2640	woman police officer	people-body	person-role
1f46e-200d-2642	man police officer	people-body	person-role
1f46f	people with bunny ears	people-body	person-activity
1f46f-200d-2640	women with bunny ears	people-body	person-activity
1f46f-200d-2642	men with bunny ears	people-body	person-activity
1f470	person with veil	people-body	person-role
1f470-200d-2640	woman with veil	people-body	person-role
1f470-200d-2642	man with veil	people-body	person-role
1f471	person: blond hair	people-body	person
1f471-1f3fb	person: light skin tone, blond hair	people-body	person
1f471-1f3fb-200d-2640	woman: light skin tone, blond hair	people-body	person
1f471-1f3fb-200d-2642	man: light skin tone, blond hair	people-body	person
1f471-1f3fc	person: medium-light skin tone, blond hair	people-body	person
1f471-1f3fc-200d-2640	woman: medium-light skin tone, blond hair	people-body	person
1f471-1f3fc-200d-2642	man: medium-light skin tone, blond hair	people-body	person
1f471-1f3fd	person: medium skin tone, blond hair	people-body	person
1f471-1f3fd-200d-2640	woman: medium skin tone, blond hair	people-body	person
1f471-1f3fd-200d-2642	man: medium skin tone, blond hair	people-body	person
1f471-1f3fe	person: medium-dark skin tone, blond hair	people-body	person
1f471-1f3fe-200d-2640	woman: medium-dark skin tone, blond hair	people-body	person
1f471-1f3fe-200d-2642	man: medium-dark skin tone, blond hair	people-body	person
1f471-1f3ff	person: dark skin tone, blond hair	people-body	person
1f471-1f3ff-200d-2640	woman: dark skin tone, blond hair	people-body	person
1f471-1f3ff-200d-2642	man: dark skin tone, blond hair	people-body	person
1f471-200d-2640	woman: blond hair	people-body	person
1f471-200d-2642	man: blond hair	people-body	person
1f472	person with skullcap	people-body	person-role
1f473	person wearing turban	people-body	person-role
1f473-200d-2640	woman wearing turban	people-body	person-role
1f473-200d-2642	man wearing turban	people-body	person-role
1f474	old man	people-body	person
1f475	old woman	people-body	person
1f476	baby	people-body	person
1f477	construction worker	people-body	person-role
1f477-200d-2640	woman construction worker	people-body	person-role
1f477-200d-2642	man construction worker	people-body	person-role
1f478	princess	people-body	person-role
1f479	ogre	smileys-emotion	face-costume
1f47a	goblin	smileys-emotion	face-costume
1f47b	ghost	smileys-emotion	face-costume
1f47c	baby angel	people-body	person-fantasy
1f47d	alien	smileys-emotion	face-costume
1f47e	alien monster	smileys-emotion	face-costume
1f47f	angry face with horns	smileys-emotion	face-negative
1f480	skull	smileys-emotion	face-negative
1f481	person tipping hand	people-body	person-gesture
1f481-200d-2640	woman tipping hand	people-body	person-gesture
1f481-200d-2642	man tipping hand	people-body	person-gesture
1f482	guard	people-body	person-role
1f482-200d-2640	woman guard	people-body	person-role
1f482-200d-2642	man guard	people-body	person-role
1f483	woman dancing	people-body	person-activity
1f484	lipstick	objects	clothing
1f485	nail polish	people-body	hand-prop
1f486	person getting massage	people-body	person-activity
1f486-200d-2640	woman getting massage	people-body	person-activity
1f486-200d-2642	man getting massage	people-body	person-activity
1f487	person getting haircut	people-body	person-activity
1f487-200d-2640	woman getting haircut	people-body	person-activity
1f487-200d-2642	man getting haircut	people-body	person-activity
1f488	barber pole	travel-places	place-other
1f489	syringe	objects	medical
1f48a	pill	objects	medical
1f48b	kiss mark	smileys-emotion	emotion
1f48c	love letter	smileys-emotion	heart
1f48d	ring	objects	clothing
1f48e	gem stone	objects	clothing
1f48f	kiss	people-body	family
1f490	bouquet	animals-nature	plant-flower
1f491	couple with heart	people-body	family
1f492	wedding	travel-places	place-building
1f493	beating heart	smileys-emotion	heart
1f494	broken heart	smileys-emotion	heart
1f495	two hearts	smileys-emotion	heart
1f496	sparkling heart	smileys-emotion	heart
1f497	growing heart	smileys-emotion	heart
1f498	heart with arrow	smileys-emotion	heart
1f499	blue heart	smileys-emotion	heart
1f49a	green heart	smileys-emotion	heart
1f49b	yellow heart	smileys-emotion	heart
1f49c	purple heart	smileys-emotion	heart
1f49d	heart with ribbon	smileys-emotion	heart
1f49e	revolving hearts	smileys-emotion	heart
1f49f	heart decoration	smileys-emotion	heart
1f4a0	diamond with a dot	symbols	geometric
1f4a1	light bulb	objects	light-video
1f4a2	anger symbol	smileys-emotion	emotion
1f4a3	bomb	objects	tool
1f4a4	ZZZ	smileys-emotion	emotion
1f4a5	collision	smileys-emotion	emotion
1f4a6	sweat droplets	smileys-emotion	emotion
1f4a7	droplet	travel-places	sky-weather
1f4a8	dashing away	smileys-emotion	emotion
1f4a9	pile of poo	smileys-emotion	face-costume
1f4aa	flexed biceps	people-body	body-parts
1f4ab	dizzy	smileys-emotion	emotion
1f4ac	speech balloon	smileys-emotion	emotion
1f4ad	thought balloon	smileys-emotion	emotion
1f4ae	white flower	animals-nature	plant-flower
1f4af	hundred points	smileys-emotion	emotion
1f4b0	money bag	objects	money
1f4b1	currency exchange	symbols	currency
1f4b2	heavy dollar sign	symbols	currency
1f4b3	credit card	objects	money
1f4b4	yen banknote	objects	money
1f4b5	dollar banknote	objects	money
1f4b6	euro banknote	objects	money
1f4b7	pound banknote	objects	money
1f4b8	money with wings	objects	money
1f4b9	chart increasing with yen	objects	money
1f4ba	seat	travel-places	transport-air
1f4bb	laptop	objects	computer
1f4bc	briefcase	objects	office
1f4bd	computer disk	objects	computer
1f4be	floppy disk	objects	computer
1f4bf	optical disk	objects	computer
1f4c0	dvd	objects	computer
1f4c1	file folder	objects	office
1f4c2	open file folder	objects	office
1f4c3	page with curl	objects	book-paper
1f4c4	page facing up	objects	book-paper
1f4c5	calendar	objects	office
1f4c6	tear-off calendar	objects	office
1f4c7	card index	objects	office
1f4c8	chart increasing	objects	office
1f4c9	chart decreasing	objects	office
1f4ca	bar chart	objects	office
1f4cb	clipboard	objects	office
1f4cc	pushpin	objects	office
1f4cd	round pushpin	objects	office
1f4ce	paperclip	objects	office
1f4cf	straight ruler	objects	office
1f4d0	triangular ruler	objects	office
1f4d1	bookmark tabs	objects	book-paper
1f4d2	ledger	objects	book-paper
1f4d3	notebook	objects	book-paper
1f4d4	notebook with decorative cover	objects	book-paper
1f4d5	closed book	objects	book-paper
1f4d6	open book	objects	book-paper
1f4d7	green book	objects	book-paper
1f4d8	blue book	objects	book-paper
1f4d9	orange book	objects	book-paper
1f4da	books	objects	book-paper
1f4db	name badge	symbols	other-symbol
1f4dc	scroll	objects	book-paper
1f4dd	memo	objects	writing
1f4de	telephone receiver	objects	phone
1f4df	pager	objects	phone
1f4e0	fax machine	objects	phone
1f4e1	satellite antenna	objects	science
1f4e2	loudspeaker	objects	sound
1f4e3	megaphone	objects	sound
1f4e4	outbox tray	objects	mail
1f4e5	inbox tray	objects	mail
1f4e6	package	objects	mail
1f4e7	e-mail	objects	mail
1f4e8	incoming envelope	objects	mail
1f4e9	envelope with arrow	objects	mail
1f4ea	closed mailbox with lowered flag	objects	mail
1f4eb	closed mailbox with raised flag	objects	mail
1f4ec	open mailbox with raised flag	objects	mail
1f4ed	open mailbox with lowered flag	objects	mail
1f4ee	postbox	objects	mail
1f4ef	postal horn	objects	sound
1f4f0	newspaper	objects	book-paper
1f4f1	mobile phone	objects	phone
1f4f2	mobile phone with arrow	objects	phone
1f4f3	vibration mode	symbols	av-symbol
1f4f4	mobile phone off	symbols	av-symbol
1f4f5	no mobile phones	symbols	warning
1f4f6	antenna bars	symbols	av-symbol
1f4f7	camera	objects	light-video
1f4f8	camera with flash	objects	light-video
1f4f9	video camera	objects	light-video
1f4fa	television	objects	light-video
1f4fb	radio	objects	music
1f4fc	videocassette	objects	light-video
1f4fd	film projector	objects	light-video
1f4ff	prayer beads	objects	clothing
1f500	shuffle tracks button	symbols	av-symbol
1f501	repeat button	symbols	av-symbol
1f502	repeat single button	symbols	av-symbol
1f503	clockwise vertical arrows	symbols	arrow
1f504	counterclockwise arrows button	symbols	arrow
1f505	dim button	symbols	av-symbol
1f506	bright button	symbols	av-symbol
1f507	muted speaker	objects	sound
1f508	speaker low volume	objects	sound
1f509	speaker medium volume	objects	sound
1f50a	speaker high volume	objects	sound
1f50b	battery	objects	computer
1f50c	electric plug	objects	computer
1f50d	magnifying glass tilted left	objects	light-video
1f50e	magnifying glass tilted right	objects	light-video
1f50f	locked with pen	objects	lock
1f510	locked with key	objects	lock
1f511	key	objects	lock
1f512	locked	objects	lock
1f513	unlocked	objects	lock
1f514	bell	objects	sound
1f515	bell with slash	objects	sound
1f516	bookmark	objects	book-paper
1f517	link	objects	tool
1f518	radio button	symbols	geometric
1f519	BACK arrow	symbols	arrow
1f51a	END arrow	symbols	arrow
1f51b	ON! arrow	symbols	arrow
1f51c	SOON arrow	symbols	arrow
1f51d	TOP arrow	symbols	arrow
1f51e	no one under eighteen	symbols	warning
1f51f	keycap: 10	symbols	keycap
1f520	input latin uppercase	symbols	alphanum
1f521	input latin lowercase	symbols	alphanum
1f522	input numbers	symbols	alphanum
1f523	input symbols	symbols	alphanum
1f524	input latin letters	symbols	alphanum
1f525	fire	travel-places	sky-weather
1f526	flashlight	objects	light-video
1f527	wrench	objects	tool
1f528	hammer	objects	tool
1f529	nut and bolt	objects	tool
1f52a	kitchen knife	food-drink	dishware
1f52b	water pistol	activities	game
1f52c	microscope	objects	science
1f52d	telescope	objects	science
1f52e	crystal ball	activities	game
1f52f	dotted six-pointed star	symbols	religion
1f530	Japanese symbol for beginner	symbols	other-symbol
1f531	trident emblem	symbols	other-symbol
1f532	black square button	symbols	geometric
1f533	white square button	symbols	geometric
1f534	red circle	symbols	geometric
1f535	blue circle	symbols	geometric
1f536	large orange diamond	symbols	geometric
1f537	large blue diamond	symbols	geometric
1f538	small orange diamond	symbols	geometric
1f539	small blue diamond	symbols	geometric
1f53a	red triangle pointed up	symbols	geometric
1f53b	red triangle pointed down	symbols	geometric
1f53c	upwards button	symbols	av-symbol
1f53d	downwards button	symbols	av-symbol
1f549	om	symbols	religion
1f54a	dove	animals-nature	animal-bird
1f54b	kaaba	travel-places	place-religious
1f54c	mosque	travel-places	place-religious
1f54d	synagogue	travel-places	place-religious
1f54e	menorah	symbols	religion
1f550	one o’clock	travel-places	time
1f551	two o’clock	travel-places	time
1f552	three o’clock	travel-places	time
1f553	four o’clock	travel-places	time
1f554	five o’clock	travel-places	time
1f555	six o’clock	travel-places	time
1f556	seven o’clock	travel-places	time
1f557	eight o’clock	travel-places	time
1f558	nine o’clock	travel-places	time
1f559	ten o’clock	travel-places	time
1f55a	eleven o’clock	travel-places	time
1f55b	twelve o’clock	travel-places	time
1f55c	one-thirty	travel-places	time
1f55d	two-thirty	travel-places	time
1f55e	three-thirty	travel-places	time
1f55f	four-thirty	travel-places	time
1f560	five-thirty	travel-places	time
1f561	six-thirty	travel-places	time
1f562	seven-thirty	travel-places	time
1f563	eight-thirty	travel-places	time
1f564	nine-thirty	travel-places	time
1f565	ten-thirty	travel-places	time
1f566	eleven-thirty	travel-places	time
1f567	twelve-thirty	travel-places	time
1f56f	candle	objects	light-video
1f570	mantelpiece clock	travel-places	time
1f573	hole	smileys-emotion	emotion
1f574	person in suit levitating	people-body	person-activity
1f575	detective	people-body	person-role
1f575-200d-2640	woman detective	people-body	person-role
1f575-200d-2642	man detective	people-body	person-role
1f576	sunglasses	objects	clothing
1f577	spider	animals-nature	animal-bug
1f578	spider web	animals-nature	animal-bug
1f579	joystick	activities	game
1f57a	man dancing	people-body	person-activity
1f587	linked paperclips	objects	office
1f58a	pen	objects	writing
1f58b	fountain pen	objects	writing
1f58c	paintbrush	objects	writing
1f58d	crayon	objects	writing
1f590	hand with fingers splayed	people-body	hand-fingers-open
1f595	middle finger	people-body	hand-single-finger
1f596	vulcan salute	people-body	hand-fingers-open
1f5a4	black heart	smileys-emotion	heart
1f5a5	desktop computer	objects	computer
1f5a8	printer	objects	computer
1f5b1	computer mouse	objects	computer
1f5b2	trackball	objects	computer
1f5bc	framed picture	activities	arts-crafts
1f5c2	card index dividers	objects	office
1f5c3	card file box	objects	office
1f5c4	file cabinet	objects	office
1f5d1	wastebasket	objects	office
1f5d2	spiral notepad	objects	office
1f5d3	spiral calendar	objects	office
1f5dc	clamp	objects	tool
1f5dd	old key	objects	lock
1f5de	rolled-up newspaper	objects	book-paper
1f5e1	dagger	objects	tool
1f5e3	speaking head	people-body	person-symbol
1f5e8	left speech bubble	smileys-emotion	emotion
1f5ef	right anger bubble	smileys-emotion	emotion
1f5f3	ballot box with ballot	objects	mail
1f5fa	world map	travel-places	place-map
1f5fb	mount fuji	travel-places	place-geographic
1f5fc	Tokyo tower	travel-places	place-building
1f5fd	Statue of Liberty	travel-places	place-building
1f5fe	map of Japan	travel-places	place-map
1f5ff	moai	objects	other-object
1f600	grinning face	smileys-emotion	face-smiling
1f601	beaming face with smiling eyes	smileys-emotion	face-smiling
1f602	face with tears of joy	smileys-emotion	face-smiling
1f603	grinning face with big eyes	smileys-emotion	face-smiling
1f604	grinning face with smiling eyes	smileys-emotion	face-smiling
1f605	grinning face with sweat	smileys-emotion	face-smiling
1f606	grinning squinting face	smileys-emotion	face-smiling
1f607	smiling face with halo	smileys-emotion	face-smiling
1f608	smiling face with horns	smileys-emotion	face-negative
1f609	winking face	smileys-emotion	face-smiling
1f60a	smiling face with smiling eyes	smileys-emotion	face-smiling
1f60b	face savoring food	smileys-emotion	face-tongue
1f60c	relieved face	smileys-emotion	face-sleepy
1f60d	smiling face with heart-eyes	smileys-emotion	face-affection
1f60e	smiling face with sunglasses	smileys-emotion	face-glasses
1f60f	smirking face	smileys-emotion	face-neutral-skeptical
1f610	neutral face	smileys-emotion	face-neutral-skeptical
1f611	expressionless face	smileys-emotion	face-neutral-skeptical
1f612	unamused face	smileys-emotion	face-neutral-skeptical
1f613	downcast face with sweat	smileys-emotion	face-concerned
1f614	pensive face	smileys-emotion	face-sleepy
1f615	confused face	smileys-emotion	face-concerned
1f616	confounded face	smileys-emotion	face-concerned
1f617	kissing face	smileys-emotion	face-affection
1f618	face blowing a kiss	smileys-emotion	face-affection
1f619	kissing face with smiling eyes	smileys-emotion	face-affection
1f61a	kissing face with closed eyes	smileys-emotion	face-affection
1f61b	face with tongue	smileys-emotion	face-tongue
1f61c	winking face with tongue	smileys-emotion	face-tongue
1f61d	squinting face with tongue	smileys-emotion	face-tongue
1f61e	disappointed face	smileys-emotion	face-concerned
1f61f	worried face	smileys-emotion	face-concerned
1f620	angry face	smileys-emotion	face-negative
1f621	enraged face	smileys-emotion	face-negative
1f622	crying face	smileys-emotion	face-concerned
1f623	persevering face	smileys-emotion	face-concerned
1f624	face with steam from nose	smileys-emotion	face-negative
1f625	sad but relieved face	smileys-emotion	face-concerned
1f626	frowning face with open mouth	smileys-emotion	face-concerned
1f627	anguished face	smileys-emotion	face-concerned
1f628	fearful face	smileys-emotion	face-concerned
1f629	weary face	smileys-emotion	face-concerned
1f62a	sleepy face	smileys-emotion	face-sleepy
1f62b	tired face	smileys-emotion	face-concerned
1f62c	grimacing face	smileys-emotion	face-neutral-skeptical
1f62d	loudly crying face	smileys-emotion	face-concerned
1f62e	face with open mouth	smileys-emotion	face-concerned
1f62e-200d-1f4a8	face exhaling	smileys-emotion	face-neutral-skeptical
1f62f	hushed face	smileys-emotion	face-concerned
1f630	anxious face with sweat	smileys-emotion	face-concerned
1f631	face screaming in fear	smileys-emotion	face-concerned
1f632	astonished face	smileys-emotion	face-concerned
1f633	flushed face	smileys-emotion	face-concerned
1f634	sleeping face	smileys-emotion	face-sleepy
1f635	face with crossed-out eyes	smileys-emotion	face-unwell
1f635-200d-1f4ab	face with spiral eyes	smileys-emotion	face-unwell
1f636	face without mouth	smileys-emotion	face-neutral-skeptical
1f636-200d-1f32b	face in clouds	smileys-emotion	face-neutral-skeptical
1f637	face with medical mask	smileys-emotion	face-unwell
1f638	grinning cat with smiling eyes	smileys-emotion	cat-face
1f639	cat with tears of joy	smileys-emotion	cat-face
1f63a	grinning cat	smileys-emotion	cat-face
1f63b	smiling cat with heart-eyes	smileys-emotion	cat-face
1f63c	cat with wry smile	smileys-emotion	cat-face
1f63d	kissing cat	smileys-emotion	cat-face
1f63e	pouting cat	smileys-emotion	cat-face
1f63f	crying cat	smileys-emotion	cat-face
1f640	weary cat	smileys-emotion	cat-face
1f641	slightly frowning face	smileys-emotion	face-concerned
1f642	slightly smiling face	smileys-emotion	face-smiling
1f643	upside-down face	smileys-emotion	face-smiling
1f644	face with rolling eyes	smileys-emotion	face-neutral-skeptical
1f645	person gesturing NO	people-body	person-gesture
1f645-200d-2640	woman gesturing NO	people-body	person-gesture
1f645-200d-2642	man gesturing NO	people-body	person-gesture
1f646	person gesturing OK	people-body	person-gesture
1f646-200d-2640	woman gesturing OK	people-body	person-gesture
1f646-200d-2642	man gesturing OK	people-body	person-gesture
1f647	person bowing	people-body	person-gesture
1f647-200d-2640	woman bowing	people-body	person-gesture
1f647-200d-2642	man bowing	people-body	person-gesture
1f648	see-no-evil monkey	smileys-emotion	monkey-face
1f649	hear-no-evil monkey	smileys-emotion	monkey-face
1f64a	speak-no-evil monkey	smileys-emotion	monkey-face
1f64b	person raising hand	people-body	person-gesture
1f64b-200d-2640	woman raising hand	people-body	person-gesture
1f64b-200d-2642	man raising hand	people-body	person-gesture
1f64c	raising hands	people-body	hands
1f64d	person frowning	people-body	person-gesture
1f64d-200d-2640	woman frowning	people-body	person-gesture
1f64d-200d-2642	man frowning	people-body	person-gesture
1f64e	person pouting	people-body	person-gesture
1f64e-200d-2640	woman pouting	people-body	person-gesture
1f64e-200d-2642	man pouting	people-body	person-gesture
1f64f	folded hands	people-body	hands
1f680	rocket	travel-places	transport-air
1f681	helicopter	travel-places	transport-air
1f682	locomotive	travel-places	transport-ground
1f683	railway car	travel-places	transport-ground
1f684	high-speed train	travel-places	transport-ground
1f685	bullet train	travel-places	transport-ground
1f686	train	travel-places	transport-ground
1f687	metro	travel-places	transport-ground
1f688	light rail	travel-places	transport-ground
1f689	station	travel-places	transport-ground
1f68a	tram	travel-places	transport-ground
1f68b	tram car	travel-places	transport-ground
1f68c	bus	travel-places	transport-ground
1f68d	oncoming bus	travel-places	transport-ground
1f68e	trolleybus	travel-places	transport-ground
1f68f	bus stop	travel-places	transport-ground
1f690	minibus	travel-places	transport-ground
1f691	ambulance	travel-places	transport-ground
1f692	fire engine	travel-places	transport-ground
1f693	police car	travel-places	transport-ground
1f694	oncoming police car	travel-places	transport-ground
1f695	taxi	travel-places	transport-ground
1f696	oncoming taxi	travel-places	transport-ground
1f697	automobile	travel-places	transport-ground
1f698	oncoming automobile	travel-places	transport-ground
1f699	sport utility vehicle	travel-places	transport-ground
1f69a	delivery truck	travel-places	transport-ground
1f69b	articulated lorry	travel-places	transport-ground
1f69c	tractor	travel-places	transport-ground
1f69d	monorail	travel-places	transport-ground
1f69e	mountain railway	travel-places	transport-ground
1f69f	suspension railway	travel-places	transport-air
1f6a0	mountain cableway	travel-places	transport-air
1f6a1	aerial tramway	travel-places	transport-air
1f6a2	ship	travel-places	transport-water
1f6a3	person rowing boat	people-body	person-sport
1f6a3-200d-2640	woman rowing boat	people-body	person-sport
1f6a3-200d-2642	man rowing boat	people-body	person-sport
1f6a4	speedboat	travel-places	transport-water
1f6a5	horizontal traffic light	travel-places	transport-ground
1f6a6	vertical traffic light	travel-places	transport-ground
1f6a7	construction	travel-places	transport-ground
1f6a8	police car light	travel-places	transport-ground
1f6a9	triangular flag	flags	flag
1f6aa	door	objects	household
1f6ab	prohibited	symbols	warning
1f6ac	cigarette	objects	other-object
1f6ad	no smoking	symbols	warning
1f6ae	litter in bin sign	symbols	transport-sign
1f6af	no littering	symbols	warning
1f6b0	potable water	symbols	transport-sign
1f6b1	non-potable water	symbols	warning
1f6b2	bicycle	travel-places	transport-ground
1f6b3	no bicycles	symbols	warning
1f6b4	person biking	people-body	person-sport
1f6b4-200d-2640	woman biking	people-body	person-sport
1f6b4-200d-2642	man biking	people-body	person-sport
1f6b5	person mountain biking	people-body	person-sport
1f6b5-200d-2640	woman mountain biking	people-body	person-sport
1f6b5-200d-2642	man mountain biking	people-body	person-sport
1f6b6	person walking	people-body	person-activity
1f6b6-200d-2640	woman walking	people-body	person-activity
1f6b6-200d-2642	man walking	people-body	person-activity
1f6b7	no pedestrians	symbols	warning
1f6b8	children crossing	symbols	warning
1f6b9	men’s room	symbols	transport-sign
1f6ba	women’s room	symbols	transport-sign
1f6bb	restroom	symbols	transport-sign
1f6bc	baby symbol	symbols	transport-sign
1f6bd	toilet	objects	household
1f6be	water closet	symbols	transport-sign
1f6bf	shower	objects	household
1f6c0	person taking bath	people-body	person-resting
1f6c1	bathtub	objects	household
1f6c2	passport control	symbols	transport-sign
1f6c3	customs	symbols	transport-sign
1f6c4	baggage claim	symbols	transport-sign
1f6c5	left luggage	symbols	transport-sign
1f6cb	couch and lamp	objects	household
1f6cc	person in bed	people-body	person-resting
1f6cd	shopping bags	objects	clothing
1f6ce	bellhop bell	travel-places	hotel
1f6cf	bed	objects	household
1f6d0	place of worship	symbols	religion
1f6d1	stop sign	travel-places	transport-ground
1f6d2	shopping cart	objects	household
1f6d5	hindu temple	travel-places	place-religious
1f6d6	hut	travel-places	place-building
1f6d7	elevator	objects	household
1f6dc	wireless	symbols	av-symbol
1f6dd	playground slide	travel-places	place-other
1f6de	wheel	travel-places	transport-ground
1f6df	ring buoy	travel-places	transport-water
1f6e0	hammer and wrench	objects	tool
1f6e1	shield	objects	tool
1f6e2	oil drum	travel-places	transport-ground
1f6e3	motorway	travel-places	transport-ground
1f6e4	railway track	travel-places	transport-ground
1f6e5	motor boat	travel-places	transport-water
1f6e9	small airplane	travel-places	transport-air
1f6eb	airplane departure	travel-places	transport-air
1f6ec	airplane arrival	travel-places	transport-air
1f6f0	satellite	travel-places	transport-air
1f6f3	passenger ship	travel-places	transport-water
1f6f4	kick scooter	travel-places	transport-ground
1f6f5	motor scooter	travel-places	transport-ground
1f6f6	canoe	travel-places	transport-water
1f6f7	sled	activities	sport
1f6f8	flying saucer	travel-places	transport-air
1f6f9	skateboard	travel-places	transport-ground
1f6fa	auto rickshaw	travel-places	transport-ground
1f6fb	pickup truck	travel-places	transport-ground
1f6fc	roller skate	travel-places	transport-ground
1f7e0	orange circle	symbols	geometric
1f7e1	yellow circle	symbols	geometric
1f7e2	green circle	symbols	geometric
1f7e3	purple circle	symbols	geometric
1f7e4	brown circle	symbols	geometric
1f7e5	red square	symbols	geometric
1f7e6	blue square	symbols	geometric
1f7e7	orange square	symbols	geometric
1f7e8	yellow square	symbols	geometric
1f7e9	green square	symbols	geometric
1f7ea	purple square	symbols	geometric
1f7eb	brown square	symbols	geometric
1f7f0	heavy equals sign	symbols	math
1f90c	pinched fingers	people-body	hand-fingers-partial
1f90d	white heart	smileys-emotion	heart
1f90e	brown heart	smileys-emotion	heart
1f90f	pinching hand	people-body	hand-fingers-partial
1f910	zipper-mouth face	smileys-emotion	face-neutral-skeptical
1f911	money-mouth face	smileys-emotion	face-tongue
1f912	face with thermometer	smileys-emotion	face-unwell
1f913	nerd face	smileys-emotion	face-glasses
1f914	thinking face	smileys-emotion	face-hand
1f915	face with head-bandage	smileys-emotion	face-unwell
1f916	robot	smileys-emotion	face-costume
1f917	smiling face with open hands	smileys-emotion	face-hand
1f918	sign of the horns	people-body	hand-fingers-partial
1f919	call me hand	people-body	hand-fingers-partial
1f91a	raised back of hand	people-body	hand-fingers-open
1f91b	left-facing fist	people-body	hand-fingers-closed
1f91c	right-facing fist	people-body	hand-fingers-closed
1f91d	handshake	people-body	hands
1f91e	crossed fingers	people-body	hand-fingers-partial
1f91f	love-you gesture	people-body	hand-fingers-partial
1f920	cowboy hat face	smileys-emotion	face-hat
1f921	clown face	smileys-emotion	face-costume
1f922	nauseated face	smileys-emotion	face-unwell
1f923	rolling on the floor laughing	smileys-emotion	face-smiling
1f924	drooling face	smileys-emotion	face-sleepy
1f925	lying face	smileys-emotion	face-neutral-skeptical
1f926	person facepalming	people-body	person-gesture
1f926-200d-2640	woman facepalming	people-body	person-gesture
1f926-200d-2642	man facepalming	people-body	person-gesture
1f927	sneezing face	smileys-emotion	face-unwell
1f928	face with raised eyebrow	smileys-emotion	face-neutral-skeptical
1f929	star-struck	smileys-emotion	face-affection
1f92a	zany face	smileys-emotion	face-tongue
1f92b	shushing face	smileys-emotion	face-hand
1f92c	face with symbols on mouth	smileys-emotion	face-negative
1f92d	face with hand over mouth	smileys-emotion	face-hand
1f92e	face vomiting	smileys-emotion	face-unwell
1f92f	exploding head	smileys-emotion	face-unwell
1f930	pregnant woman	people-body	person-role
1f931	breast-feeding	people-body	person-role
1f932	palms up together	people-body	hands
1f933	selfie	people-body	hand-prop
1f934	prince	people-body	person-role
1f935	person in tuxedo	people-body	person-role
1f935-200d-2640	woman in tuxedo	people-body	person-role
1f935-200d-2642	man in tuxedo	people-body	person-role
1f936	Mrs. Claus	people-body	person-fantasy
1f937	person shrugging	people-body	person-gesture
1f937-200d-2640	woman shrugging	people-body	person-gesture
1f937-200d-2642	man shrugging	people-body	person-gesture
1f938	person cartwheeling	people-body	person-sport
1f938-200d-2640	woman cartwheeling	people-body	person-sport
1f938-200d-2642	man cartwheeling	people-body	person-sport
1f939	person juggling	people-body	person-sport
1f939-200d-2640	woman juggling	people-body	person-sport
1f939-200d-2642	man juggling	people-body	person-sport
1f93a	person fencing	people-body	person-sport
1f93c	people wrestling	people-body	person-sport
1f93c-200d-2640	women wrestling	people-body	person-sport
1f93c-200d-2642	men wrestling	people-body	person-sport
1f93d	person playing water polo	people-body	person-sport
1f93d-200d-2640	woman playing water polo	people-body	person-sport
1f93d-200d-2642	man playing water polo	people-body	person-sport
1f93e	person playing handball	people-body	person-sport
1f93e-200d-2640	woman playing handball	people-body	person-sport
1f93e-200d-2642	man playing handball	people-body	person-sport
1f93f	diving mask	activities	sport
1f940	wilted flower	animals-nature	plant-flower
1f941	drum	objects	musical-instrument
1f942	clinking glasses	food-drink	drink
1f943	tumbler glass	food-drink	drink
1f944	spoon	food-drink	dishware
1f945	goal net	activities	sport
1f947	1st place medal	activities	award-medal
1f948	2nd place medal	activities	award-medal
1f949	3rd place medal	activities	award-medal
1f94a	boxing glove	activities	sport
1f94b	martial arts uniform	activities	sport
1f94c	curling stone	activities	sport
1f94d	lacrosse	activities	sport
1f94e	softball	activities	sport
1f94f	flying disc	activities	sport
1f950	croissant	food-drink	food-prepared
1f951	avocado	food-drink	food-vegetable
1f952	cucumber	food-drink	food-vegetable
1f953	bacon	food-drink	food-prepared
1f954	potato	food-drink	food-vegetable
1f955	carrot	food-drink	food-vegetable
1f956	baguette bread	food-drink	food-prepared
1f957	green salad	food-drink	food-prepared
1f958	shallow pan of food	food-drink	food-prepared
1f959	stuffed flatbread	food-drink	food-prepared
1f95a	egg	food-drink	food-prepared
1f95b	glass of milk	food-drink	drink
1f95c	peanuts	food-drink	food-vegetable
1f95d	kiwi fruit	food-drink	food-fruit
1f95e	pancakes	food-drink	food-prepared
1f95f	dumpling	food-drink	food-asian
1f960	fortune cookie	food-drink	food-asian
1f961	takeout box	food-drink	food-asian
1f962	chopsticks	food-drink	dishware
1f963	bowl with spoon	food-drink	food-prepared
1f964	cup with straw	food-drink	drink
1f965	coconut	food-drink	food-fruit
1f966	broccoli	food-drink	food-vegetable
1f967	pie	food-drink	food-sweet
1f968	pretzel	food-drink	food-prepared
1f969	cut of meat	food-drink	food-prepared
1f96a	sandwich	food-drink	food-prepared
1f96b	canned food	food-drink	food-prepared
1f96c	leafy green	food-drink	food-vegetable
1f96d	mango	food-drink	food-fruit
1f96e	moon cake	food-drink	food-asian
1f96f	bagel	food-drink	food-prepared
1f970	smiling face with hearts	smileys-emotion	face-affection
1f971	yawning face	smileys-emotion	face-concerned
1f972	smiling face with tear	smileys-emotion	face-affection
1f973	partying face	smileys-emotion	face-hat
1f974	woozy face	smileys-emotion	face-unwell
1f975	hot face	smileys-emotion	face-unwell
1f976	cold face	smileys-emotion	face-unwell
1f977	ninja	people-body	person-role
1f978	disguised face	smileys-emotion	face-hat
1f979	face holding back tears	smileys-emotion	face-concerned
1f97a	pleading face	smileys-emotion	face-concerned
1f97b	sari	objects	clothing
1f97c	lab coat	objects	clothing
1f97d	goggles	objects	clothing
1f97e	hiking boot	objects	clothing
1f97f	flat shoe	objects	clothing
1f980	crab	animals-nature	animal-marine
1f981	lion	animals-nature	animal-mammal
1f982	scorpion	animals-nature	animal-bug
1f983	turkey	animals-nature	animal-bird
1f984	unicorn	animals-nature	animal-mammal
1f985	eagle	animals-nature	animal-bird
1f986	duck	animals-nature	animal-bird
1f987	bat	animals-nature	animal-mammal
1f988	shark	animals-nature	animal-marine
1f989	owl	animals-nature	animal-bird
1f98a	fox	animals-nature	animal-mammal
1f98b	butterfly	animals-nature	animal-bug
1f98c	deer	animals-nature	animal-mammal
1f98d	gorilla	animals-nature	animal-mammal
1f98e	lizard	animals-nature	animal-reptile
1f98f	rhinoceros	animals-nature	animal-mammal
1f990	shrimp	animals-nature	animal-marine
1f991	squid	animals-nature	animal-marine
1f992	giraffe	animals-nature	animal-mammal
1f993	zebra	animals-nature	animal-mammal
1f994	hedgehog	animals-nature	animal-mammal
1f995	sauropod	animals-nature	animal-reptile
1f996	T-Rex	animals-nature	animal-reptile
1f997	cricket	animals-nature	animal-bug
1f998	kangaroo	animals-nature	animal-mammal
1f999	llama	animals-nature	animal-mammal
1f99a	peacock	animals-nature	animal-bird
1f99b	hippopotamus	animals-nature	animal-mammal
1f99c	parrot	animals-nature	animal-bird
1f99d	raccoon	animals-nature	animal-mammal
1f99e	lobster	animals-nature	animal-marine
1f99f	mosquito	animals-nature	animal-bug
1f9a0	microbe	animals-nature	animal-bug
1f9a1	badger	animals-nature	animal-mammal
1f9a2	swan	animals-nature	animal-bird
1f9a3	mammoth	animals-nature	animal-mammal
1f9a4	dodo	animals-nature	animal-bird
1f9a5	sloth	animals-nature	animal-mammal
1f9a6	otter	animals-nature	animal-mammal
1f9a7	orangutan	animals-nature	animal-mammal
1f9a8	skunk	animals-nature	animal-mammal
1f9a9	flamingo	animals-nature	animal-bird
1f9aa	oyster	animals-nature	animal-marine
1f9ab	beaver	animals-nature	animal-mammal
1f9ac	bison	animals-nature	animal-mammal
1f9ad	seal	animals-nature	animal-marine
1f9ae	guide dog	animals-nature	animal-mammal
1f9af	white cane	objects	tool
1f9b4	bone	people-body	body-parts
1f9b5	leg	people-body	body-parts
1f9b6	foot	people-body	body-parts
1f9b7	tooth	people-body	body-parts
1f9b8	superhero	people-body	person-fantasy
1f9b8-200d-2640	woman superhero	people-body	person-fantasy
1f9b8-200d-2642	man superhero	people-body	person-fantasy
1f9b9	supervillain	people-body	person-fantasy
1f9b9-200d-2640	woman supervillain	people-body	person-fantasy
1f9b9-200d-2642	man supervillain	people-body	person-fantasy
1f9ba	safety vest	objects	clothing
1f9bb	ear with hearing aid	people-body	body-parts
1f9bc	motorized wheelchair	travel-places	transport-ground
1f9bd	manual wheelchair	travel-places	transport-ground
1f9be	mechanical arm	people-body	body-parts
1f9bf	mechanical leg	people-body	body-parts
1f9c0	cheese wedge	food-drink	food-prepared
1f9c1	cupcake	food-drink	food-sweet
1f9c2	salt	food-drink	food-prepared
1f9c3	beverage box	food-drink	drink
1f9c4	garlic	food-drink	food-vegetable
1f9c5	onion	food-drink	food-vegetable
1f9c6	falafel	food-drink	food-prepared
1f9c7	waffle	food-drink	food-prepared
1f9c8	butter	food-drink	food-prepared
1f9c9	mate	food-drink	drink
1f9ca	ice	food-drink	drink
1f9cb	bubble tea	food-drink	drink
1f9cc	troll	people-body	person-fantasy
1f9cd	person standing	people-body	person-activity
1f9cd-200d-2640	woman standing	people-body	person-activity
1f9cd-200d-2642	man standing	people-body	person-activity
1f9ce	person kneeling	people-body	person-activity
1f9ce-200d-2640	woman kneeling	people-body	person-activity
1f9ce-200d-2642	man kneeling	people-body	person-activity
1f9cf	deaf person	people-body	person-gesture
1f9cf-200d-2640	deaf woman	people-body	person-gesture
1f9cf-200d-2642	deaf man	people-body	person-gesture
1f9d0	face with monocle	smileys-emotion	face-glasses
1f9d1	person	people-body	person
1f9d1-1f3fb-200d-1f9b0	person: light skin tone, red hair	people-body	person
1f9d1-1f3fb-200d-1f9b1	person: light skin tone, curly hair	people-body	person
1f9d1-1f3fb-200d-1f9b2	person: light skin tone, bald	people-body	person
1f9d1-1f3fb-200d-1f9b3	person: light skin tone, white hair	people-body	person
1f9d1-1f3fc-200d-1f9b0	person: medium-light skin tone, red hair	people-body	person
1f9d1-1f3fc-200d-1f9b1	person: medium-light skin tone, curly hair	people-body	person
1f9d1-1f3fc-200d-1f9b2	person: medium-light skin tone, bald	people-body	person
1f9d1-1f3fc-200d-1f9b3	person: medium-light skin tone, white hair	people-body	person
1f9d1-1f3fd-200d-1f9b0	person: medium skin tone, red hair	people-body	person
1f9d1-1f3fd-200d-1f9b1	person: medium skin tone, curly hair	people-body	person
1f9d1-1f3fd-200d-1f9b2	person: medium skin tone, bald	people-body	person
1f9d1-1f3fd-200d-1f9b3	person: medium skin tone, white hair	people-body	person
1f9d1-1f3fe-200d-1f9b0	person: medium-dark skin tone, red hair	people-body	person
1f9d1-1f3fe-200d-1f9b1	person: medium-dark skin tone, curly hair	people-body	person
1f9d1-1f3fe-200d-1f9b2	person: medium-dark skin tone, bald	people-body	person
1f9d1-1f3fe-200d-1f9b3	person: medium-dark skin tone, white hair	people-body	person
1f9d1-1f3ff-200d-1f9b0	person: dark skin tone, red hair	people-body	person
1f9d1-1f3ff-200d-1f9b1	person: dark skin tone, curly hair	people-body	person
1f9d1-1f3ff-200d-1f9b2	person: dark skin tone, bald	people-body	person
1f9d1-1f3ff-200d-1f9b3	person: dark skin tone, white hair	people-body	person
1f9d1-200d-1f33e	farmer	people-body	person-role
1f9d1-200d-1f373	cook	people-body	person-role
1f9d1-200d-1f37c	person feeding baby	people-body	person-role
1f9d1-200d-1f384	Mx Claus	people-body	person-fantasy
1f9d1-200d-1f393	student	people-body	person-role
1f9d1-200d-1f3a4	singer	people-body	person-role
1f9d1-200d-1f3a8	artist	people-body	person-role
1f9d1-200d-1f3eb	teacher	people-body	person-role
1f9d1-200d-1f3ed	factory worker	people-body	person-role
1f9d1-200d-1f4bb	technologist	people-body	person-role
1f9d1-200d-1f4bc	office worker	people-body	person-role
1f9d1-200d-1f527	mechanic	people-body	person-role
1f9d1-200d-1f52c	scientist	people-body	person-role
1f9d1-200d-1f680	astronaut	people-body	person-role
1f9d1-200d-1f692	firefighter	people-body	person-role
1f9d1-200d-1f91d-200d-1f9d1	people holding hands	people-body	family
1f9d1-200d-1f9af	person with white cane	people-body	person-activity
1f9d1-200d-1f9b0	person: red hair	people-body	person
1f9d1-200d-1f9b1	person: curly hair	people-body	person
1f9d1-200d-1f9b2	person: bald	people-body	person
1f9d1-200d-1f9b3	person: white hair	people-body	person
1f9d1-200d-1f9bc	person in motorized wheelchair	people-body	person-activity
1f9d1-200d-1f9bd	person in manual wheelchair	people-body	person-activity
1f9d1-200d-2695	health worker	people-body	person-role
1f9d1-200d-2696	judge	people-body	person-role
1f9d1-200d-2708	pilot	people-body	person-role
1f9d2	child	people-body	person
1f9d3	older person	people-body	person
1f9d4	person: beard	people-body	person
1f9d4-1f3fb	person: light skin tone, beard	people-body	person
1f9d4-1f3fb-200d-2640	woman: light skin tone, beard	people-body	person
1f9d4-1f3fb-200d-2642	man: light skin tone, beard	people-body	person
1f9d4-1f3fc	person: medium-light skin tone, beard	people-body	person
1f9d4-1f3fc-200d-2640	woman: medium-light skin tone, beard	people-body	person
1f9d4-1f3fc-200d-2642	man: medium-light skin tone, beard	people-body	person
1f9d4-1f3fd	person: medium skin tone, beard	people-body	person
1f9d4-1f3fd-200d-2640	woman: medium skin tone, beard	people-body	person
1f9d4-1f3fd-200d-2642	man: medium skin tone, beard	people-body	person
1f9d4-1f3fe	person: medium-dark skin tone, beard	people-body	person
1f9d4-1f3fe-200d-2640	woman: medium-dark skin tone, beard	people-body	person
1f9d4-1f3fe-200d-2642	man: medium-dark skin tone, beard	people-body	person
1f9d4-1f3ff	person: dark skin tone, beard	people-body	person
1f9d4-1f3ff-200d-2640	woman: dark skin tone, beard	people-body	person
1f9d4-1f3ff-200d-2642	man: dark skin tone, beard	people-body	person
1f9d4-200d-2640	woman: beard	people-body	person
1f9d4-200d-2642	man: beard	people-body	person
1f9d5	woman with headscarf	people-body	person-role
1f9d6	person in steamy room	people-body	person-activity
1f9d6-200d-2640	woman in steamy room	people-body	person-activity
1f9d6-200d-2642	man in steamy room	people-body	person-activity
1f9d7	person climbing	people-body	person-activity
1f9d7-200d-2640	woman climbing	people-body	person-activity
1f9d7-200d-2642	man climbing	people-body	person-activity
1f9d8	person in lotus position	people-body	person-resting
1f9d8-200d-2640	woman in lotus position	people-body	person-resting
1f9d8-200d-2642	man in lotus position	people-body	person-resting
1f9d9	mage	people-body	person-fantasy
1f9d9-200d-2640	woman mage	people-body	person-fantasy
1f9d9-200d-2642	man mage	people-body	person-fantasy
1f9da	fairy	people-body	person-fantasy
1f9da-200d-2640	woman fairy	people-body	person-fantasy
1f9da-200d-2642	man fairy	people-body	person-fantasy
1f9db	vampire	people-body	person-fantasy
1f9db-200d-2640	woman vampire	people-body	person-fantasy
1f9db-200d-2642	man vampire	people-body	person-fantasy
1f9dc	merperson	people-body	person-fantasy
1f9dc-200d-2640	mermaid	people-body	person-fantasy
1f9dc-200d-2642	merman	people-body	person-fantasy
1f9dd	elf	people-body	person-fantasy
1f9dd-200d-2640	woman elf	people-body	person-fantasy
1f9dd-200d-2642	man elf	people-body	person-fantasy
1f9de	genie	people-body	person-fantasy
1f9de-200d-2640	woman genie	people-body	person-fantasy
1f9de-200d-2642	man genie	people-body	person-fantasy
1f9df	zombie	people-body	person-fantasy
1f9df-200d-2640	woman zombie	people-body	person-fantasy
1f9df-200d-2642	man zombie	people-body	person-fantasy
1f9e0	brain	people-body	body-parts
1f9e1	orange heart	smileys-emotion	heart
1f9e2	billed cap	objects	clothing
1f9e3	scarf	objects	clothing
1f9e4	gloves	objects	clothing
1f9e5	coat	objects	clothing
1f9e6	socks	objects	clothing
1f9e7	red envelope	activities	event
1f9e8	firecracker	activities	event
1f9e9	puzzle piece	activities	game
1f9ea	test tube	objects	science
1f9eb	petri dish	objects	science
1f9ec	dna	objects	science
1f9ed	compass	travel-places	place-map
1f9ee	abacus	objects	computer
1f9ef	fire extinguisher	objects	household
1f9f0	toolbox	objects	tool
1f9f1	brick	travel-places	place-building
1f9f2	magnet	objects	tool
1f9f3	luggage	travel-places	hotel
1f9f4	lotion bottle	objects	household
1f9f5	thread	activities	arts-crafts
1f9f6	yarn	activities	arts-crafts
1f9f7	safety pin	objects	household
1f9f8	teddy bear	activities	game
1f9f9	broom	objects	household
1f9fa	basket	objects	household
1f9fb	roll of paper	objects	household
1f9fc	soap	objects	household
1f9fd	sponge	objects	household
1f9fe	receipt	objects	money
1f9ff	nazar amulet	objects	other-object
1fa70	ballet shoes	objects	clothing
1fa71	one-piece swimsuit	objects	clothing
1fa72	briefs	objects	clothing
1fa73	shorts	objects	clothing
1fa74	thong sandal	objects	clothing
1fa75	light blue heart	smileys-emotion	heart
1fa76	grey heart	smileys-emotion	heart
1fa77	pink heart	smileys-emotion	heart
1fa78	drop of blood	objects	medical
1fa79	adhesive bandage	objects	medical
1fa7a	stethoscope	objects	medical
1fa7b	x-ray	objects	medical
1fa7c	crutch	objects	medical
1fa80	yo-yo	activities	game
1fa81	kite	activities	game
1fa82	parachute	travel-places	transport-air
1fa83	boomerang	objects	tool
1fa84	magic wand	activities	game
1fa85	piñata	activities	game
1fa86	nesting dolls	activities	game
1fa87	maracas	objects	musical-instrument
1fa88	flute	objects	musical-instrument
1fa90	ringed planet	travel-places	sky-weather
1fa91	chair	objects	household
1fa92	razor	objects	household
1fa93	axe	objects	tool
1fa94	diya lamp	objects	light-video
1fa95	banjo	objects	musical-instrument
1fa96	military helmet	objects	clothing
1fa97	accordion	objects	musical-instrument
1fa98	long drum	objects	musical-instrument
1fa99	coin	objects	money
1fa9a	carpentry saw	objects	tool
1fa9b	screwdriver	objects	tool
1fa9c	ladder	objects	tool
1fa9d	hook	objects	tool
1fa9e	mirror	objects	household
1fa9f	window	objects	household
1faa0	plunger	objects	household
1faa1	sewing needle	activities	arts-crafts
1faa2	knot	activities	arts-crafts
1faa3	bucket	objects	household
1faa4	mouse trap	objects	household
1faa5	toothbrush	objects	household
1faa6	headstone	objects	other-object
1faa7	placard	objects	other-object
1faa8	rock	travel-places	place-building
1faa9	mirror ball	activities	game
1faaa	identification card	objects	other-object
1faab	low battery	objects	computer
1faac	hamsa	objects	other-object
1faad	folding hand fan	objects	clothing
1faae	hair pick	objects	clothing
1faaf	khanda	symbols	religion
1fab0	fly	animals-nature	animal-bug
1fab1	worm	animals-nature	animal-bug
1fab2	beetle	animals-nature	animal-bug
1fab3	cockroach	animals-nature	animal-bug
1fab4	potted plant	animals-nature	plant-other
1fab5	wood	travel-places	place-building
1fab6	feather	animals-nature	animal-bird
1fab7	lotus	animals-nature	plant-flower
1fab8	coral	animals-nature	animal-marine
1fab9	empty nest	animals-nature	plant-other
1faba	nest with eggs	animals-nature	plant-other
1fabb	hyacinth	animals-nature	plant-flower
1fabc	jellyfish	animals-nature	animal-marine
1fabd	wing	animals-nature	animal-bird
1fabf	goose	animals-nature	animal-bird
1fac0	anatomical heart	people-body	body-parts
1fac1	lungs	people-body	body-parts
1fac2	people hugging	people-body	person-symbol
1fac3	pregnant man	people-body	person-role
1fac4	pregnant person	people-body	person-role
1fac5	person with crown	people-body	person-role
1face	moose	animals-nature	animal-mammal
1facf	donkey	animals-nature	animal-mammal
1fad0	blueberries	food-drink	food-fruit
1fad1	bell pepper	food-drink	food-vegetable
1fad2	olive	food-drink	food-fruit
1fad3	flatbread	food-drink	food-prepared
1fad4	tamale	food-drink	food-prepared
1fad5	fondue	food-drink	food-prepared
1fad6	teapot	food-drink	drink
1fad7	pouring liquid	food-drink	drink
1fad8	beans	food-drink	food-vegetable
1fad9	jar	food-drink	dishware
1fada	ginger root	food-drink	food-vegetable
1fadb	pea pod	food-drink	food-vegetable
1fae0	melting face	smileys-emotion	face-smiling
1fae1	saluting face	smileys-emotion	face-hand
1fae2	face with open eyes and hand over mouth	smileys-emotion	face-hand
1fae3	face with peeking eye	smileys-emotion	face-hand
1fae4	face with diagonal mouth	smileys-emotion	face-concerned
1fae5	dotted line face	smileys-emotion	face-neutral-skeptical
1fae6	biting lip	people-body	body-parts
1fae7	bubbles	objects	household
1fae8	shaking face	smileys-emotion	face-neutral-skeptical
1faf0	hand with index finger and thumb crossed	people-body	hand-fingers-partial
1faf1	rightwards hand	people-body	hand-fingers-open
1faf2	leftwards hand	people-body	hand-fingers-open
1faf3	palm down hand	people-body	hand-fingers-open
1faf4	palm up hand	people-body	hand-fingers-open
1faf5	index pointing at the viewer	people-body	hand-single-finger
1faf6	heart hands	people-body	hands
1faf7	leftwards pushing hand	people-body	hand-fingers-open
1faf8	rightwards pushing hand	people-body	hand-fingers-open
203c	double exclamation mark	symbols	punctuation
2049	exclamation question mark	symbols	punctuation
2122	trade mark	symbols	other-symbol
2139	information	symbols	alphanum
2194	left-right arrow	symbols	arrow
2195	up-down arrow	symbols	arrow
2196	up-left arrow	symbols	arrow
2197	up-right arrow	symbols	arrow
2198	down-right arrow	symbols	arrow
2199	down-left arrow	symbols	arrow
21a9	right arrow curving left	symbols	arrow
21aa	left arrow curving right	symbols	arrow
231a	watch	travel-places	time
231b	hourglass done	travel-places	time
2328	keyboard	objects	computer
23cf	eject button	symbols	av-symbol
23e9	fast-forward button	symbols	av-symbol
23ea	fast reverse button	symbols	av-symbol
23eb	fast up button	symbols	av-symbol
23ec	fast down button	symbols	av-symbol
23ed	next track button	symbols	av-symbol
23ee	last track button	symbols	av-symbol
23ef	play or pause button	symbols	av-symbol
23f0	alarm clock	travel-places	time
23f1	stopwatch	travel-places	time
23f2	timer clock	travel-places	time
23f3	hourglass not done	travel-places	time
23f8	pause button	symbols	av-symbol
23f9	stop button	symbols	av-symbol
23fa	record button	symbols	av-symbol
24c2	circled M	symbols	alphanum
25aa	black small square	symbols	geometric
25ab	white small square	symbols	geometric
25b6	play button	symbols	av-symbol
25c0	reverse button	symbols	av-symbol
25fb	white medium square	symbols	geometric
25fc	black medium square	symbols	geometric
25fd	white medium-small square	symbols	geometric
25fe	black medium-small square	symbols	geometric
2600	sun	travel-places	sky-weather
2601	cloud	travel-places	sky-weather
2602	umbrella	travel-places	sky-weather
2603	snowman	travel-places	sky-weather
2604	comet	travel-places	sky-weather
260e	telephone	objects	phone
2611	check box with check	symbols	other-symbol
2614	umbrella with rain drops	travel-places	sky-weather
2615	hot beverage	food-drink	drink
2618	shamrock	animals-nature	plant-other
261d	index pointing up	people-body	hand-single-finger
2620	skull and crossbones	smileys-emotion	face-negative
2622	radioactive	symbols	warning
2623	biohazard	symbols	warning
2626	orthodox cross	symbols	religion
262a	star and crescent	symbols	religion
262e	peace symbol	symbols	religion
262f	yin yang	symbols	religion
2638	wheel of dharma	symbols	religion
2639	frowning face	smileys-emotion	face-concerned
263a	smiling face	smileys-emotion	face-affection
2640	female sign	symbols	gender
2642	male sign	symbols	gender
2648	Aries	symbols	zodiac
2649	Taurus	symbols	zodiac
264a	Gemini	symbols	zodiac
264b	Cancer	symbols	zodiac
264c	Leo	symbols	zodiac
264d	Virgo	symbols	zodiac
264e	Libra	symbols	zodiac
264f	Scorpio	symbols	zodiac
2650	Sagittarius	symbols	zodiac
2651	Capricorn	symbols	zodiac
2652	Aquarius	symbols	zodiac
2653	Pisces	symbols	zodiac
265f	chess pawn	activities	game
2660	spade suit	activities	game
2663	club suit	activities	game
2665	heart suit	activities	game
2666	diamond suit	activities	game
2668	hot springs	travel-places	place-other
267b	recycling symbol	symbols	other-symbol
267e	infinity	symbols	math
267f	wheelchair symbol	symbols	transport-sign
2692	hammer and pick	objects	tool
2693	anchor	travel-places	transport-water
2694	crossed swords	objects	tool
2695	medical symbol	symbols	other-symbol
2696	balance scale	objects	tool
2697	alembic	objects	science
2699	gear	objects	tool
269b	atom symbol	symbols	religion
269c	fleur-de-lis	symbols	other-symbol
26a0	warning	symbols	warning
26a1	high voltage	travel-places	sky-weather
26a7	transgender symbol	symbols	gender
26aa	white circle	symbols	geometric
26ab	black circle	symbols	geometric
26b0	coffin	objects	other-object
26b1	funeral urn	objects	other-object
26bd	soccer ball	activities	sport
26be	baseball	activities	sport
26c4	snowman without snow	travel-places	sky-weather
26c5	sun behind cloud	travel-places	sky-weather
26c8	cloud with lightning and rain	travel-places	sky-weather
26ce	Ophiuchus	symbols	zodiac
26cf	pick	objects	tool
26d1	rescue worker’s helmet	objects	clothing
26d3	chains	objects	tool
26d4	no entry	symbols	warning
26e9	shinto shrine	travel-places	place-religious
26ea	church	travel-places	place-religious
26f0	mountain	travel-places	place-geographic
26f1	umbrella on ground	travel-places	sky-weather
26f2	fountain	travel-places	place-other
26f3	flag in hole	activities	sport
26f4	ferry	travel-places	transport-water
26f5	sailboat	travel-places	transport-water
26f7	skier	people-body	person-sport
26f8	ice skate	activities	sport
26f9	person bouncing ball	people-body	person-sport
26f9-200d-2640	woman bouncing ball	people-body	person-sport
26f9-200d-2642	man bouncing ball	people-body	person-sport
26fa	tent	travel-places	place-other
26fd	fuel pump	travel-places	transport-ground
2702	scissors	objects	office
2705	check mark button	symbols	other-symbol
2708	airplane	travel-places	transport-air
2709	envelope	objects	mail
270a	raised fist	people-body	hand-fingers-closed
270b	raised hand	people-body	hand-fingers-open
270c	victory hand	people-body	hand-fingers-partial
270d	writing hand	people-body	hand-prop
270f	pencil	objects	writing
2712	black nib	objects	writing
2714	check mark	symbols	other-symbol
2716	multiply	symbols	math
271d	latin cross	symbols	religion
2721	star of David	symbols	religion
2728	sparkles	activities	event
2733	eight-spoked asterisk	symbols	other-symbol
2734	eight-pointed star	symbols	other-symbol
2744	snowflake	travel-places	sky-weather
2747	sparkle	symbols	other-symbol
274c	cross mark	symbols	other-symbol
274e	cross mark button	symbols	other-symbol
2753	red question mark	symbols	punctuation
2754	white question mark	symbols	punctuation
2755	white exclamation mark	symbols	punctuation
2757	red exclamation mark	symbols	punctuation
2763	heart exclamation	smileys-emotion	heart
2764	red heart	smileys-emotion	heart
2764-200d-1f525	heart on fire	smileys-emotion	heart
2764-200d-1fa79	mending heart	smileys-emotion	heart
2795	plus	symbols	math
2796	minus	symbols	math
2797	divide	symbols	math
27a1	right arrow	symbols	arrow
27b0	curly loop	symbols	other-symbol
27bf	double curly loop	symbols	other-symbol
2934	right arrow curving up	symbols	arrow
2935	right arrow curving down	symbols	arrow
2b05	left arrow	symbols	arrow
2b06	up arrow	symbols	arrow
2b07	down arrow	symbols	arrow
2b1b	black large square	symbols	geometric
2b1c	white large square	symbols	geometric
2b50	star	travel-places	sky-weather
2b55	hollow red circle	symbols	other-symbol
3030	wavy dash	symbols	punctuation
303d	part alternation mark	symbols	other-symbol
3297	Japanese “congratulations” button	symbols	alphanum
3299	Japanese “secret” button	symbols	alphanum
"""
