"""Cues for the other intents: question, lead, praise (and plain thanks), abusive, spam (EN + IT).

Same conventions as ``problem_cues``. Interrogative openers ("how", "come", "posso") are not here:
they only count at the start of a sentence, which ``detect`` checks with its own small pattern.
"""

from __future__ import annotations

from sportello_priority.intents.cues import Entry, cues, guards

QUESTION: list[Entry] = cues("question", {0.6: [
    r"i(?:'d| would) like to know", r"(?:just |i was |i'm )?wondering (?:if|whether|how|what|when|why|where)",
    r"(?:can|could) (?:you|someone|anyone|u) (?:please )?(?:tell|explain|let me know|confirm|advise|help"
    r"|check)", r"please (?:advise|confirm|let me know|explain)", r"let me know (?:if|when|how|what|whether)",
    r"any idea (?:if|when|how|why|what|whether)", r"(?:quick|a|one|small) question", "i have a question",
    r"(?:is|are) there (?:any|a) way",
    r"(?:vorrei|volevo|vorremmo) (?:sapere|capire|chiedere|informazioni)", "mi chiedevo",
    r"(?:mi )?(?:sapete|potete|potreste|puoi|potresti|riuscite|sai) (?:dirmi|dire|spiegarmi|spiegare"
    r"|indicarmi|indicare|confermarmi|confermare|aiutarmi|farmi sapere)", r"ho una domanda", "una domanda",
    r"una curiosit[aà]", r"informazioni (?:su|sul|sulla|per|riguardo)", r"chiedo info\w*",
    r"come (?:faccio|posso|si fa|si pu[oò]|devo|fare)", r"[eè] possibile", r"si pu[oò]",
    r"cosa (?:devo|bisogna|serve|occorre|succede)", "a che ora", r"qual [eè]", "quali sono",
    r"dove (?:posso|trovo|si trova|devo)", r"(?:please )?tell me (?:how|why|what|when|where|if|whether)",
    r"(?:i )?(?:need|want) to know", r"explain (?:why|how|what)", r"help me (?:understand|with|to)",
    r"what (?:should|do|can) (?:i|we) do",
]})

LEAD: list[Entry] = cues("lead", {
    0.8: [
        r"how much (?:is|are|would|will|for|to|it|do you charge|does (?:it|the|a|an|this|your))",
        r"what(?:'s| is| are) (?:the )?(?:price|prices|cost|costs|pricing|rate|rates|fee|monthly cost)"
        r" (?:of|for|on)",
        r"do you (?:ship|deliver|post|send|sell|offer|operate|fly) (?:to|in|abroad|internationally|outside"
        r"|overseas)",
        r"i(?:'d| would)? (?:like|love|want|wanna|wish|plan|intend|hope) to (?:buy|order|purchase|upgrade"
        r"|subscribe|sign up|join|switch to you|become a (?:customer|member)|open an account|take out"
        r"|get a quote)",
        r"(?:switch|move|bring|transfer) (?:\S+ ){0,4}(?:over )?to you(?:r (?:company|network|bank|service))?",
        # Italian
        r"quanto cost\w+", r"quanto (?:viene|verrebbe|vengono|si paga|pagherei|mi costa)", r"preventiv\w+",
        r"(?:vorrei|voglio|volevo|vorremmo|vogliamo|mi piacerebbe|desidero|desidererei|intendo|penso di"
        r"|pensavo di|sto pensando di|ho intenzione di) (?:\S+ )?(?:acquistare|comprare|attivare|ordinare"
        r"|sottoscrivere|abbonarmi|abbonare|prenotare|passare a voi|passare con voi|diventare (?:\S+ )?cliente"
        r"|aderire|aprire un conto|noleggiare)",
        r"(?:spedite|spedisci|spedisce|consegnate|fate spedizioni|effettuate spedizioni|fate consegne"
        r"|operate|volate) (?:anche )?(?:in|a|all'|nel|nella|verso|all'estero|fuori)",
        r"(?:passare|passa|passo|passiamo|passerei) (?:a|con) voi",
    ],
    0.65: [
        r"(?:do you|does it|do they) (?:have|come in|stock) (?:any )?(?:deals|offers|discounts|promotions"
        r"|availability|stock|plans|packages|colou?rs|sizes|black|white)",
        r"(?:is|are) (?:\S+ ){0,4}(?:available|in stock) (?:in|for|at|to|online|now)",
        r"(?:any|are there any|got any) (?:\S+ )?(?:deals|offers|discounts|promos?|promotions|sales|vouchers"
        r"|coupons)",
        r"(?:student|senior|family|business|loyalty|military|nhs|group|bulk|corporate|first[- ]time) discounts?",
        r"(?:looking|planning|thinking|considering) (?:to |of |about |into )?(?:buy|upgrad|sign\w* up|join"
        r"|purchas|open\w* an account)\w*", r"(?:looking|thinking (?:of|about)) (?:to )?get(?:ting)? (?:a|an) new",
        r"interested in (?:your|the|a|an|getting|buying|switching|signing|upgrading|joining|ordering"
        r"|becoming|opening|taking)",
        r"(?:can|could|where can|how can|how do) (?:i|we) (?:buy|order|purchase|get hold of|sign up|subscribe"
        r"|join|upgrade)",
        r"(?:get|send me|send us|give me|give us|for) a quote", "quote for", r"prices? (?:of|for|list)",
        r"free trial", r"(?:sign|signing) up (?:for|to|with)",
        # Italian
        r"avete (?:\S+ )?(?:offerte|promozioni|promo|sconti|pacchetti|disponibilit\w+|tariffe)",
        r"ci sono (?:\S+ )?(?:offerte|promozioni|promo|sconti|posti)", r"interessat[oaie] (?:a|al|alla|all'"
        r"|ai|alle|agli|allo|ad)", r"mi interess(?:a|ano|ava|erebbe)", r"prezz[oi] (?:di|del|della|dell'|dei"
        r"|delle|per)", r"cost[oi] (?:di|del|della|dell'|mensile|annuale)", "listino",
        r"(?:come|dove) (?:posso |si pu[oò] |faccio a )?(?:acquistare|comprare|abbonarmi|attivare"
        r"|sottoscrivere|ordinare)", r"attivare (?:la|una|il|un|l') ?(?:fibra|linea|offerta|sim|abbonamento"
        r"|promo\w*)", r"sconto (?:studenti|famiglia|fedelt[aà]|per)", "prova gratuita",
        r"(?:[eè]|sono) (?:ancora )?disponibil[ei] (?:in|a|per|nel|nella|online)",
    ],
    0.5: [r"new customers?", r"nuov[oia] client[ei]", r"in stock"],
    0.35: ["upgrade (?:to|my)", "pricing"],
}, negatable=True)

PRAISE: list[Entry] = cues("praise", {
    0.65: [
        r"lov(?:e|ing|ed) (?:the|your|this|it|how|my|that|you)", "well done",
        r"great (?:job|service|work|experience|support|team|stuff|customer service|help)", "excellent",
        "amazing", "brilliant", "fantastic", "outstanding", "superb", "wonderful", "awesome", "kudos",
        r"shout-? ?outs?", "hats off", "impressed", "top notch", r"(?:five|5) stars?", "lovely",
        "above and beyond", "keep up the good work", r"(?:so|very|really|super|incredibly|extremely)"
        r" (?:helpful|kind|friendly|quick|fast|efficient|professional|polite|patient)",
        r"(?:really|truly|much|greatly|very much) appreciated", r"appreciate (?:it|that|this|your|the|you)",
        r"(?:you|you guys|y'all) (?:rock|are (?:the best|great|amazing|brilliant|awesome|stars|legends))",
        r"best (?:\S+ ){0,2}(?:ever|i've (?:ever )?had)", "lifesaver", "delighted", "thrilled",
        r"(?:a |the )star", "the best", r"favou?rite", "incredible", r"awesome\w*", "made my day", "way to go",
        "impressive", "adore", "great care", r"adoro", r"vi adoro", r"preferit[oa]", "il top",
        r"bell(?:a|issima) esperienza",
        # Italian
        "complimenti", r"bravi\w*", r"bravissim\w+", r"ottim[oaie]", r"eccellent\w+", r"fantastic\w+",
        r"gentilissim\w+", r"velocissim\w+", r"impeccabil\w+", r"disponibilissim\w+", r"efficientissim\w+",
        r"super (?:gentil|veloc|professional|disponibil|efficient)\w+",
        r"(?:siete|sei) (?:stati )?(?:i migliori|il migliore|fantastici|grandi|top|bravissimi|gentilissimi)",
        r"i migliori", r"consiglio a tutti", r"tutto perfetto", r"un grazie", r"grazie (?:mille|di cuore"
        r"|davvero|infinite|tantissime|ancora)", "thank you so much", "huge thanks", r"many thanks",
        r"(?:thanks|thank you) (?:so much|a million|a lot)",
    ],
    0.45: ["pleased", "grateful", "happy with", r"soddisfatt[oaie]", r"lo consiglio", r"vi consiglio", "love",
           "pleasant", "refreshing", "can't wait", "looking forward", "non vedo l'ora", r"piacevol[ei]"],
    # Good words that are praise only in company ("great sarcasm", "perfect timing for a delay").
    0.35: [
        "perfect", "smooth", "seamless", "great", "helpful", "nice", "cool", "happy", r"professional\w*",
        r"cortes[ie]", r"puntual[ei]",
        r"gentil[ei]", r"perfett[oaie]", r"content[oaie]", "efficienti",
    ],
}, negatable=True)

# Plain thanks: praise only when nothing else is going on (see ``detect``); often mere politeness.
# "Thanks for <something>" thanks for something; a bare "thanks" in a longer message signs it off.
THANKS_FOR = 0.5
GRATITUDE: list[Entry] = cues("gratitude", {
    THANKS_FOR: [r"(?:thanks?|thank you|thx|cheers|grazie|ringrazio) (?:\S+ )?(?:for|per)"],
    0.45: ["thanks?", "thank you", "thanx", "thx", "ty", "tysm", "cheers", "grazie", r"(?:vi |ti )?ringrazio",
           r"ringraziamo"],
})

ABUSIVE: list[Entry] = cues("abusive", {
    0.85: [
        r"(?:you|u|ya|you're|youre|ur|you are|you lot are|you guys are|bunch of|pack of|load of|band of"
        r"|such|absolute|complete|total|fucking|effing|f\*+ing) (?:\S+ ){0,2}(?:idiots?|morons?|clowns?"
        r"|imbeciles?|cretins?|muppets?|scum(?:bags?)?|bastards?|assholes?|arseholes?|dickheads?|wankers?"
        r"|pricks?|twats?|tossers?|losers?|thieves|crooks|retards?|numpties|halfwits|dimwits|cunts?"
        r"|bitch(?:es)?)",
        r"(?:fuck|f\*+k|f\*+|fck|fcuk|feck|screw|sod) (?:you|u|off|y'?all|yall|this (?:company|airline|bank|place)"
        r"|your (?:\S+ )?(?:company|airline|bank|service|app|network))",
        "stfu", "go to hell", "rot in hell", "piss off", "get stuffed", "kiss my ass", "eat shit", "up yours",
        "kys", r"kill yoursel(?:f|ves)", "die in a fire",
        # Italian
        r"(?:vaffa|affa|fa)ncul\w*", r"vaffa\w*", r"fottet\w+", r"andate a (?:cagare|quel paese|fare in culo"
        r"|farvi fottere|morire|ramengo)",
        r"(?:siete|sei|voi|branco di|banda di|massa di|manica di|dei|degli|delle|solo dei|pezzi? di|razza di"
        r") (?:\S+ ){0,2}(?:ladri|idioti|idiota|imbecilli|imbecille|cretini|cretino|deficienti|deficiente"
        r"|dementi|buffoni|cialtroni|pagliacci|stronzi|stronzo|coglioni|coglione|bastardi|truffatori"
        r"|criminali|delinquenti|parassiti|sciacalli|somari|merde|merda)",
        r"(?:testa|teste) di cazzo", r"figli di puttana", r"pezz[oi] di merda",
    ],
    0.75: [
        "idiots", "morons", "imbeciles", "cretins", "assholes", "arseholes", "bastards", "cunts", "wankers",
        "dickheads", "scumbags", r"stronz[oaie]", r"coglion[ei]", "idioti", "imbecilli", "cretini",
        "deficienti", "dementi", "bastardi",
    ],
    0.55: ["clowns", "thieves", "crooks", "buffoni", "pagliacci", "cialtroni", "ladri", "truffatori",
           r"(?:siete|sei) (?:\S+ ){0,2}(?:incompetenti|incapaci)"],
})

# Swearing not aimed at anyone: abusive only in an angry message (weighted in ``detect``).
PROFANITY: list[Entry] = cues("profanity", {0.3: [
    r"fuck\w*", r"f\*+(?:ing|ed|in)?", r"fck\w*", r"fcuk\w*", r"fuk\w*", "effing", r"shit\w*", r"sh\*t\w*", "bullshit",
    r"crap\w*", "bloody", r"damn\w*", "wtf", "ffs", r"cazz\w*", r"c\*+o", r"merd\w*", r"minchi\w*",
    r"porc[oa] \w+", r"fottut\w+", r"che palle",
]})

SPAM: list[Entry] = cues("spam", {
    0.8: [
        r"(?:i|we) (?:always |will |'ll )?follow (?:you )?back", r"follow ?(?:4|for) ?follow", "teamfollowback",
        "f4f", "l4l", r"like ?(?:4|for) ?like",
        r"check (?:out )?my (?:profile|page|channel|bio|video|music|new|latest|shop|store|onlyfans)",
        r"link in (?:my )?bio", r"(?:click|tap) (?:here|the link|on the link|my link|link)",
        r"(?:earn|make|making|earning|guadagn\w*) (?:up to |fino a )?[$€£]*\d[\d.,]*k?",
        r"(?:earn|make|making) [$€£]{2,}",
        r"\d[\d.,]*k? ?(?:[$€£]|euro|dollars|usd|bucks) (?:a|per|al|alla|ogni) (?:day|week|month|hour|giorno"
        r"|settimana|mese|ora)",
        "work from home", r"lavora(?:re)? da casa", "passive income", "reddito passivo",
        "investment opportunity", r"opportunit[aà] di (?:investimento|guadagno)", "financial freedom",
        "trading signals", r"telegram (?:group|channel|gruppo|canale)", "sugar daddy", "onlyfans",
        r"free (?:followers|likes|iphone|money|gift ?cards?|bitcoin|crypto)", "win a free", "giveaway",
        "airdrop", r"vinci (?:un|una|subito|gratis)", "offerta imperdibile", r"clicca (?:qui|sul link|il link)",
        r"seguimi", r"seguitemi", r"ricambio (?:\S+ )?follow", "ricambio sempre", "follow per follow",
        r"use my (?:code|link|referral)", r"usa il mio (?:codice|link)", "get rich",
        r"guaranteed (?:profit|returns|income)", r"scrivimi in (?:privato|dm|direct)",
        r"info in (?:dm|direct|privato)", r"dm me (?:for|now|to)",
    ],
    # Customers ask a brand to follow back so they can send a DM: alone, that is not spam.
    0.3: [r"follow ?back", "crypto", "bitcoin", "btc", "ethereum", "nfts?", "forex", "binary options", "dogecoin",
          "usdt",
          "memecoin", "signals", "promo code"],
})

CONTACT_GUARDS: list[Entry] = [
    # Thanks that are not thanks: sarcasm, or politeness ahead of a request.
    *guards(("gratitude", "praise"), [
        r"(?:thanks|thank you|thx) (?:for nothing|in advance|anyway|for wasting|for no|for not|a lot for nothing"
        r"|for ruining|for losing|for the delay|for cancell?ing|for being (?:\S+ )?un\w+)", r"no,? thanks",
        r"grazie (?:in anticipo|anticipatamente|per niente|di niente|tante|lo stesso|comunque"
        r"|per l'attenzione)", r"no,? grazie",
    ]),
    # "how nice of you" / "what a joke": exclamations, not questions, and no praise either.
    *guards(("praise",), [r"what (?:a|an) (?:\S+ )?(?:joke|shambles|mess|surprise)"]),
    # "I would appreciate it if..." asks for something; it praises nothing yet.
    *guards(("praise",), [r"(?:would|'d) (?:\S+ )?(?:appreciate|love)", "appreciate it if",
                          r"best (?:regards|wishes)", r"(?:not|never) (?:\S+ )?the best"]),
    # The price of a fee on what the customer already has is a billing question, not a sale.
    *guards(("lead",), [r"how much (?:\S+ ){0,4}(?:charged?|charging|fees?|owe|commission|deducted|to (?:receive"
                        r"|transfer|withdraw|send|top ?up|exchange|cancel|change))"]),
    # Customers quoting a code they were given are not advertising one.
    *guards(("spam",), [r"(?:my|the|your) promo code"]),
]
