"""Cues for the intents that mean trouble: complaint, outage, cancellation threat, legal threat (EN + IT).

Weights: ~0.8 a phrase that alone settles the intent, ~0.6 a strong hint, ~0.3-0.45 a hint that needs
company (two hints, or the sentiment). An intent is recognised from 0.4 (see ``detect``).
Phrases are regex fragments on the normalised text: lower case, accents folded, apostrophes optional.
"""

from __future__ import annotations

from sportello_priority.intents.cues import Entry, cues, guards

# Names a customer switches to. Deliberately telecom/airline/bank/energy heavy (our brands' markets).
COMPETITOR = (
    r"(?:vodafone|ee|o2|three|bt|sky|virgin(?: media| mobile)?|talktalk|plusnet|giffgaff|verizon|at&t|att"
    r"|t-mobile|tmobile|comcast|xfinity|spectrum|tim|wind(?: ?tre)?|iliad|fastweb|tiscali|ho\.? mobile|kena"
    r"|very mobile|poste ?mobile|coop ?voce|eolo|linkem|ryanair|easyjet|wizz ?air|british airways|lufthansa"
    r"|emirates|klm|air france|delta|united|american|southwest|jetblue|ita airways|revolut|monzo|n26"
    r"|starling|chase|barclays|hsbc|lloyds|natwest|santander|intesa|unicredit|fineco|bper|mediolanum"
    r"|hype|paypal|amazon|netflix|dazn|enel|eni|edison|a2a|hera|iren|octopus|british gas|e\.?on|edf"
    r"|(?:a |an )?(?:other|another|different|new|rival) (?:\S+ )?(?:provider|operator|network|carrier|bank"
    r"|airline|supplier|company|isp)|(?:a |your )?competitors?|(?:un |una )?(?:altro|altra|un'altra)"
    r" (?:operatore|gestore|compagnia|banca|fornitore)|la concorrenza)"
)
_RELATIONSHIP = (r"(?:account|accounts|subscription|subscriptions|contract|membership|plan|policy|service"
                 r"|broadband|direct debit|sub|line|package|insurance)")  # not "card": cancelling a stolen card

COMPLAINT: list[Entry] = [
    *cues("complaint", {
        0.7: [
            r"worst\w*", "terrible", "awful", "horrible", "horrendous", "dreadful", "disgusting", "disgraceful",
            "disgrace", "appalling", "shocking", "atrocious", "abysmal", "unacceptable", "ridiculous",
            "pathetic", "shambles", "shambolic", "useless", "rubbish", "furious", "livid", "fuming",
            "outraged", "nightmare", "incompetent", "unprofessional", "rude", "misleading", "fed up",
            "sick (?:of|and tired)", "had enough", "enough is enough", "rip-?off", "ripped off",
            "(?:a|what a|is a|beyond a) joke", "scam", "sucks?", "let (?:me|us) down", "let down", "despicable",
            "deplorable", "outrageous", "lousy", "sub ?-?par", "inept", "clueless", "lying",
            r"(?:shit|shitty|crap|crappy|lousy|terrible|awful|bad|poor|horrible|worst|pathetic) (?:customer )?"
            r"(?:service|support|experience|airline|company)",
            r"(?:gotten|got|getting|gone|went|going) (?:\S+ )?(?:worse|downhill)",
            # Italian
            r"vergogn\w*", r"schif\w*", r"pessim\w+", r"inaccettabil\w+", r"assurd\w+", r"scandal\w+",
            r"ridicol\w+", r"indecent\w+", r"deludent\w+", r"delus[oaie]", "delusione", r"arrabbiat\w+",
            r"furios[oaie]", r"incazzat\w+", r"stuf[oaie]", "stufato", r"incompetent\w+", r"incapac\w+",
            r"maleducat\w+", r"scortes\w+", "truffa", r"truffat\w+", r"disastr\w+", r"inammissibil\w+",
            r"intollerabil\w+", "allucinante", r"scadent\w+", r"penos[oaie]", r"inutil[ei]",
            r"non se ne pu[oò] pi[uù]", r"(?:presa|presi|prendete|prendendo|prendermi) in giro",
            "state scherzando",
        ],
        0.55: [
            r"disappoint\w*", "unhappy", "annoyed", r"frustrat\w+", "angry", "upset", r"complain\w*",
            "poor", "trash", "garbage", "mediocre", "overpriced", "embarrassing", r"fail(?:ed|s|ure)?", "come on",
            "faulty", "defective", "unusable", "so slow", "lied", "liars?",
            r"reclam\w+", r"lamentel\w+", "sconsiglio", r"lentissim\w+", r"difettos\w+",
            r"danneggiat\w+", r"smarrit\w+",
        ],
        0.35: [
            "disconnected", "cut (?:me )?off", "bad", "slow", "broken", "damaged", "smashed", "ruined", "missing",
            "wrong", "delay(?:ed|s)?",
            "basta", "lent[oaie]", "rott[oaie]", r"sbagliat\w+", r"errat[oaie]", "ritardo", "ritardi",
        ],
        0.3: ["problems?", "issues?", "refund", "compensation", "problem[ai]", "rimborso", r"risarciment\w+"],
    }, negatable=True),
    # Descriptions of what went wrong: they carry their own negation ("never arrived"), so not negatable.
    *cues("complaint", {
        0.75: ["thanks for nothing", r"grazie (?:per niente|di niente|tante)"],
        0.65: [
            r"overcharg\w+", r"(?:charged|billed|debited) (?:me )?(?:twice|double|two times|wrongly"
            r"|incorrectly)", "double[- ](?:charged|billed|charge)", r"hung up on",
            r"(?:addebitat\w+|addebito|addebiti|pagat\w+|prelevat\w+|scalat\w+) (?:\S+ ){0,4}(?:due volte"
            r"|doppio|in doppio|il doppio)", "doppio addebito",
            r"(?:chiuso|sbattuto|attaccato) il telefono", r"mi (?:avete|hai|hanno) (?:fregat|truffat)\w+",
            "not (?:impressed|happy|satisfied|pleased|good enough|acceptable|ok|okay)",
            r"non (?:sono |siamo )?(?:per niente |affatto |molto )?(?:soddisfatt|content)\w",
            "non vi consiglio",
        ],
        0.55: [
            r"(?:still|never|hasn't|has not|haven't|have not|didn't|did not|not yet|yet to) (?:\S+ ){0,2}"
            r"(?:arrived|received|turned up|delivered|showed up|shown up|come|came|refunded|heard back)",
            r"still no (?:refund|reply|response|answer|sign|update|news|parcel|delivery|money|word)",
            "no refund", r"where(?:'s| is) my (?:refund|money|parcel|package|order|delivery|luggage|bag)",
            r"(?:lost|damaged|broke|broken|smashed|misplaced) (?:my|our) (?:\S+ )?(?:luggage|bags?"
            r"|suitcase|parcel|package|order|item|delivery)",
            r"arrived (?:\S+ )?(?:damaged|broken|smashed|late|open|opened|empty|wet|ruined|incomplete"
            r"|faulty)",
            r"wrong (?:item|size|colou?r|order|amount|product|address|bill|charge)",
            r"(?:never|didn't|did not) (?:show|turn) up", r"no-? ?show",
            r"(?:kept|keep|keeps|leaving|left) (?:me|us) (?:waiting|on hold|hanging)",
            r"ignor(?:ed|ing) (?:me|us|my)",
            r"(?:nobody|no one|no-one) (?:\S+ ){0,2}(?:answer|help|respon|repl|call|came|show|bother|got back|care"
            r"|could|pick)\w*", r"still (?:nothing|no one|nobody|no word)",
            r"no (?:help|communication|apology|explanation|compensation|call|information|info|updates?|notice"
            r"|warning)", r"(?:\d+|an?|one|two|three|four|five) (?:\S+ )?(?:minutes|mins|hours?|hrs?) on hold",
            r"on hold (?:for )?(?:\d+|an?|over|almost|nearly)",
            r"(?:lost|missing|delayed|damaged|broken) (?:\S+ )?(?:bags?|baggage|luggage|suitcases?)",
            r"(?:bags?|baggage|luggage|suitcases?) (?:\S+ ){0,2}(?:lost|missing|damaged|broken|delayed|never arrived"
            r"|didn't arrive)", r"miss(?:ed|ing)? (?:my |our |the )?(?:\S+ )?connect(?:ion|ions|ing)",
            r"(?:sitting|sat|stuck|waiting|held) (?:\S+ ){0,3}(?:tarmac|runway)",
            r"(?:keep|keeps|kept) (?:charging|billing|cancell?ing|ignoring|getting (?:billed|charged))",
            r"(?:flights?|flt|trains?|bus|connection)(?: \S+)? (?:was |were |got |has been |have been |is |are "
            r"|been )?(?:cancell?ed|delayed|late)",
            r"(?:bill|charge|price|fee)s? (?:has |have )?(?:doubled|tripled|gone up|went up|shot up)",
            r"why (?:\S+ ){0,3}(?:still|again|never|nobody|so long|twice|charged|declined|cancell?ed"
            r"|late|wrong)",
            r"(?:card|payment|transfer|top ?up|transaction|withdrawal|order)s? (?:\S+ ){0,2}(?:declined|rejected"
            r"|refused|failed|bounced|not (?:accepted|going through))",
            r"(?:keep|keeps|kept) (?:declin|reject|fail|block|refus)\w*",
            r"duplicated? (?:payment|charge|transaction)s?",
            r"(?:showing|shows|appears?|charged) (?:up )?(?:multiple|several|two|2|three|3) times",
            r"refund (?:isn't|hasn't|has not|is not|not|still not) (?:\S+ )?(?:appearing|showing|arrived|come|been)",
            r"having (?:\S+ )?(?:issues|problems|trouble) with", r"(?:what's|what is|something(?:'s| is)) (?:going"
            r" on|wrong)",
            # Italian
            r"(?:non [eè] |non sono |mai |ancora non [eè] )(?:ancora |mai )?(?:arrivat|giunt|consegnat)\w+",
            r"non (?:ho |abbiamo )?(?:ancora |mai )?ricevut\w+", r"ancora (?:niente|nulla)",
            r"(?:[eè]|sono) arrivat\w+ (?:aperto|aperta|rott\w+|danneggiat\w+|in ritardo|vuot\w+"
            r"|sbagliat\w+|bagnat\w+|incomplet\w+)",
            r"(?:prodotto|articolo|pacco|ordine) (?:[eè] |sono )?(?:arrivat\w+ )?(?:divers|sbagliat|errat)\w+",
            "diverso da quello ordinato",
            r"(?:bagaglio|valigia|valigie|bagagli|pacco) (?:\S+ ){0,2}(?:smarrit|pers|danneggiat|rott"
            r"|distrutt)\w+",
            r"nessuno (?:\S+ ){0,2}(?:risponde|ha risposto|richiama|ha richiamato|si [eè] presentat\w+"
            r"|si [eè] fatto viv\w+|mi ha contattat\w+|sa dirmi|mi aiuta)",
            r"non si [eè] (?:presentat\w+|fatto viv\w+) nessuno",
            r"(?:bolletta|fattura|addebito|conto) (?:\S+ ){0,2}(?:sbagliat|errat|assurd|esagerat|salat"
            r"|gonfiat)\w+",
            r"addebit\w+ (?:\S+ ){0,3}non (?:autorizzat|richiest|dovut)\w+",
            r"non ho mai (?:richiesto|chiesto|autorizzato|attivato|firmato)",
            r"continuate a (?:addebitar|chiamar|ignorar|mandar|inviar)\w*",
            r"(?:spostat|cancellat|annullat)\w+ (?:\S+ ){0,2}senza (?:nessun |alcun )?(?:avviso|preavviso"
            r"|comunicazione)",
            r"(?:volo|treno|corsa)(?: \S+){0,3} (?:cancellat\w+|annullat\w+|in ritardo|soppress\w+)",
            r"(?:ho|abbiamo) subito (?:un|una|dei|delle|gravi)", r"ennesim\w+", "non va bene",
        ],
        0.4: [r"danni?", "mancava(?:no)?", r"senza (?:nessun |alcun )?(?:avviso|preavviso)",
              r"cancell?ed (?:my|our|the) (?:flight|train|bus|appointment)"],
    }),
]

OUTAGE: list[Entry] = cues("outage", {
    0.85: [
        "outages?", r"disserviz\w+", "power cut", r"black ?out", "fuori servizio", "in tilt",
        r"(?:is|are|'s|was|were|been|still|keeps? going|went|goes|seems|being|totally|completely|[eè]|sono"
        r"|siete) (?:all |still |completely |totally )?down",
        r"down (?:again|everywhere|since|all (?:day|night|morning|weekend)|for (?:\S+ ){0,2}(?:hours?|days?"
        r"|ages|everyone|me|us))",
        "not working", r"(?:isn't|is not|aren't|are not|wasn't|won't|doesn't|does not|don't|do not|stopped"
        r"|never) work(?:ing|s)?",
        r"no (?:signal|service|internet|connection|connectivity|network|wifi|wi-fi|broadband|power"
        r"|electricity|water|gas|phone line|dial tone|coverage|reception|[345]g|data|tv|landline)",
        # Italian
        r"non funzion\w+", r"(?:[eè]|sono|siete|va|andat[oa]|ancora|tutto|completamente) gi[uù]",
        r"senza (?:linea|internet|rete|segnale|connessione|corrente|luce|acqua|gas|campo|servizio"
        r"|telefono|wifi|wi-fi|tv|fibra|adsl)",
        r"(?:nessun|niente|zero|assenza di|mancanza di|manca la|manca il|manca) (?:segnale|linea|rete|campo"
        r"|connessione|corrente|internet|luce|acqua|servizio|wifi)",
        r"linea (?:\S+ )?(?:assente|muta|morta|interrotta|saltata|gi[uù]|staccata|isolata|ko)",
        r"(?:saltat[oa]|manca|mancano) (?:la linea|la corrente|internet|la luce|il segnale|la rete)",
        r"interruzion\w+ (?:del |di |della |dei )?(?:servizio|servizi|rete|linea|corrente|fornitura)",
    ],
    0.7: [
        r"(?:keeps?|kept) (?:crashing|freezing|dropping|disconnecting|cutting out|buffering|failing"
        r"|logging me out|going offline)",
        r"(?:service|server|system)s? (?:is |are )?(?:unavailable|error|failure)",
        r"won't (?:load|open|connect|work|start|turn on|let me (?:log|sign|in|pay))",
        r"(?:not|isn't|doesn't|won't|didn't|aren't) (?:load|loading|open|opening|connect|connecting"
        r"|going through|go through|respond|responding)",
        r"(?:internet|wifi|wi-fi|broadband|line|phone|connection|signal|network|tv|router|landline|data"
        r"|app|website|site) (?:\S+ ){0,2}(?:dead|dropped|dropping|cutting out|cut out|offline"
        r"|unreachable|unavailable)",
        r"dropp(?:ed|ing) out", r"tim(?:ing|es|ed) out", "is it just me",
        r"(?:can't|cannot|can not|couldn't|unable to) get (?:\S+ ){0,4}to work",
        r"(?:isn't|won't|doesn't|didn't|wasn't|aren't) (?:\S+ ){1,4}working",
        r"(?:doesn't|does not|don't|didn't|did not) seem to (?:be )?work(?:ing)?",
        r"(?:did not|didn't) work",
        r"anyone else (?:having|getting|experiencing|with)",
        r"(?:carta|card) (?:\S+ ){0,2}(?:bloccat\w+|blocked)", r"non prende", r"guast[oi]",
        r"non (?:mi )?va (?:pi[uù] )?(?:internet|la linea|il wifi|la rete|l'app|il sito|la tv|niente|nulla)",
        r"(?:telefono|fisso|cellulare|modem|router|decoder|tv) (?:\S+ )?(?:muto|morto|isolato|ko)",
        r"(?:va|vanno|andat\w+) in errore", r"(?:salta|cade|cadono) (?:la linea|la connessione|le chiamate)",
        r"(?:app|sito|pagina|sistema|piattaforma|home banking) (?:\S+ ){0,2}(?:bloccat\w+|non disponibil\w+"
        r"|inaccessibil\w+|offline|fuori uso)",
    ],
    0.6: [
        r"(?:can't|cannot|can not|unable to|couldn't|could not|won't let me) (?:\S+ )?(?:log ?in|log on"
        r"|login|sign in|sign on|connect|access|get online|get in|get into|make calls|call out|load"
        r"|check ?in|get past|top up|withdraw|use|make (?:purchases|payments|a payment)|pay)",
        r"crash(?:es|ed|ing)?", r"error (?:code )?\S*\d\S*", r"\d{3} error", "offline",
        r"stuck on (?:an? |the )?(?:error|loading|login|log-?in|splash|spinning|black|blank)",
        r"non (?:riesco|riusciamo) (?:pi[uù] )?(?:ad? |neanche ad? |nemmeno ad? )?(?:accedere|entrare"
        r"|collegarmi|connettermi|loggarmi|chiamare|telefonare|pagare|navigare|fare|aprire|usare|utilizzare"
        r"|scaricare|prelevare|ricaricare|effettuare|completare)",
        r"non (?:carica|si apre|si carica|si connette|si collega|parte|apre)", r"(?:ir|non )raggiungibil\w+",
        r"(?:d[aà]|dando|dare|restituisce|segnala) (?:un |l'|sempre )?errore", r"errore (?:\S+ )?\d+",
        r"isolat[oaie]", "non va pi[uù]",
    ],
    0.4: ["errors?", "errore", r"non disponibil\w+", "non risponde"],
})

# An outage reported as over ("working again") no longer is one; see ``detect._drop_resolved_outage``.
RESOLVED: list[Entry] = cues("resolved", {0.3: [
    "working again", r"back (?:up|online|on)", r"(?:is|it's|its|all|now|been|got) (?:fixed|sorted|resolved"
    r"|restored)", "fixed now", "sorted now", "problem solved", "restored",
    r"funziona (?:di nuovo|ora|adesso)", r"di nuovo funzionante", r"(?:[eè] )?tornat[oa] (?:la linea"
    r"|internet|la connessione|il segnale|la corrente|tutto|a funzionare)", r"ripristinat\w+",
    r"(?:tutto )?risolto",
]}, negatable=True)  # "not working again" is no recovery

CANCELLATION: list[Entry] = cues("cancellation_threat", {
    0.85: [
        rf"cancel(?:l?ing)? (?:my|our|the|this) (?:\S+ )?{_RELATIONSHIP}",
        rf"(?:close|closing|delete|deleting|deactivate|terminate|terminating|end|ending|quit) (?:my|our"
        rf"|the|this) (?:\S+ )?{_RELATIONSHIP}",
        rf"switch(?:ing)? (?:\S+ ){{0,3}}(?:over )?to {COMPETITOR}",
        # Not a bare "go to": "I had to go to United's desk" is no churn.
        rf"(?:moving|move|moved) (?:over |back )?to {COMPETITOR}", rf"(?:going|go|went) (?:over|back) to {COMPETITOR}",
        rf"(?:leaving|leave) (?:you )?for {COMPETITOR}",
        r"switch(?:ing)? (?:provider|operator|network|carrier|bank|supplier|airline)s?",
        r"never (?:fly|flying|flew|shop|shopping|use|using|buy|buying|order|ordering|book|booking|bank"
        r"|banking|travel|travell?ing|stay|staying|choose|choosing)(?: \S+){0,4} again",
        r"(?:taking|take|took) my (?:business|money|custom) elsewhere", r"(?:lost|losing) (?:a|another"
        r"|my) (?:loyal )?customer", "won't be renewing", r"port(?:ing)? (?:my|our) numbers?",
        # Italian
        r"disdett\w*", r"disdi(?:re|co|ro|rò|rei|rlo|rla)\w*", r"recess\w+", "recedere",
        r"(?:chiudo|chiudere|chiudero|voglio chiudere|chiuderemo) (?:il|un|il mio|questo|l') ?(?:conto"
        r"|contratto|abbonamento|account)",
        r"(?:annullare|cancellare|disattivare|annullo|cancello) (?:il mio |la mia |l'|il |la )?(?:abbonamento"
        r"|contratto|account|conto|iscrizione|linea)",
        rf"(?:passo|passero|passare|passiamo|passeremo|migro|migrare|vado|andro) (?:a|ad|con|alla|in) "
        rf"{COMPETITOR}",
        r"(?:cambio|cambiare|cambiero|cambieremo|cambiamo) (?:operatore|gestore|compagnia|banca|fornitore)",
        r"mai pi[uù] (?:\S+ ){0,2}(?:con voi|da voi|con la vostra|vostr\w+)",
        r"porto (?:tutto|il numero|i (?:miei )?soldi|il conto) (?:\S+ ){0,2}(?:in|a|da|altrove)",
        "avete perso un cliente", r"non (?:vi )?rinnover\w+",
    ],
    0.65: [
        r"(?:considering|thinking (?:of|about)|about to|going to|gonna|will|i'll|might) (?:\S+ )?(?:leaving"
        r"|leave you|switching|cancell?ing)", r"(?:i'm|i am|we're) (?:done with|finished with|leaving)"
        r" (?:you|this|your)", r"(?:i'm|i am|we're|we are) leaving", "last time i (?:use|fly|book|shop|order"
        r"|buy)", r"(?:go|going|went) elsewhere", "not renewing", r"(?:vi|ti) lascio",
        r"vado (?:via|altrove)", r"(?:valutando|pensando) di (?:passare|cambiare|disdire|andare)",
    ],
    0.45: ["never again", r"mai pi[uù]", "addio", "i'm done", "ho chiuso"],
}, negatable=True)

LEGAL: list[Entry] = cues("legal_threat", {
    0.85: [
        "lawyers?", "attorneys?", "solicitors?", r"legal (?:action|proceedings|advice|route|steps)",
        "see you in court", r"take (?:you|this|them|it|the matter|this matter) to court", r"court (?:case"
        r"|action|claim)", "small claims", "class action", "trading standards", "ombudsman",
        r"(?:fcc|ftc|cfpb|bbb|ofcom|ofgem|ofwat)", "better business bureau",
        r"(?:report|complain|complaint|file|filing|filed|contact|contacting|write to|writing to)\w* (?:\S+ ){0,3}"
        r"(?:faa|caa|dot|fca|cma|regulator|department of transportation)",
        r"consumer (?:protection|rights|affairs|council|watchdog)", "attorney general",
        r"sue (?:you|u|your|them|the company|this company)", r"(?:will|i'll|gonna|going to) sue", "suing",
        "sued",
        # Italian
        r"avvocat\w+", r"(?:mio|nostro|un|al|dal|tramite il) legale", r"vi[ae] legal[ei]",
        r"azion[ei] legal[ei]", r"denunc\w+", r"querel\w+", r"diffid\w+", r"(?:codacons|agcom|agcm|antitrust)",
        r"(?:altroconsumo|adiconsum|federconsumatori|corecom|arera|ivass|consob|enac|arbitro bancario)",
        r"garante (?:della |per la )?(?:privacy|protezione|comunicazioni|concorrenza)",
        r"associazion[ei] (?:dei |di |a tutela dei )?consumatori", "giudice di pace", "tribunale",
        r"(?:fare|faro|faccio|facciamo|farvi|vi faccio|vi faro) causa", r"causa (?:legale|civile)",
        "esposto", "carte bollate",
    ],
    0.6: [r"report(?:ing)? (?:you|this|it|them) to (?:the )?(?:authorities|regulator|police)", "regulator",
          "breach of contract", "in court", "ufficio legale", r"autorit[aà] (?:garante|competent\w+)"],
    # Regulators that airline and bank customers mostly just mention ("the FAA rules say...").
    0.4: ["garante", "my rights", "i miei diritti", r"(?:faa|caa|fca|cma)"],
})

PROBLEM_GUARDS: list[Entry] = [
    # A theft reported to the police is not a threat against the brand.
    *guards(("legal_threat",), [r"denunc\w+ (?:\S+ ){0,5}(?:furto|smarriment\w+|rapina|scippo)",
                                r"(?:furto|smarrimento|rapina|scippo) (?:\S+ ){0,5}denunc\w+"]),
    # "down" that is not a service going down.
    *guards(("outage",), [r"(?:price|prices|cost|costs|bill|bills|rate|rates|fee|fees|queue|wait)s? "
                          r"(?:\S+ ){0,2}(?:went|gone|goes|go|come|came|is|are) down",
                          r"(?:calm|slow|back|turn|turned|break|broke|let me|let us|sit|settle) down"]),
    # A past cancellation is context for a complaint, not a threat: "I didn't cancel my subscription".
    *guards(("cancellation_threat",), [r"(?:didn't|did not|never|not|wasn't|haven't) (?:\S+ )?cancel\w*",
                                       r"(?:passo|passiamo) a (?:ritirare|prendere|trovarvi)"]),
    # The customer's own slip is a request, not a complaint: "I ordered the wrong size", "ho sbagliato".
    *guards(("complaint",), [r"(?:i|i've|i have|we) (?:\S+ ){0,2}(?:ordered|bought|booked|picked|chose|selected"
                             r"|entered|typed|sent|made|put|paid|transferred) (?:\S+ ){0,3}wrong",
                             r"(?:ho|abbiamo) sbagliat\w*"]),
    # "never had a problem" is praise, and "mai avuto problemi" likewise.
    *guards(("complaint",), [r"(?:never|mai|zero|no|nessun) (?:\S+ ){0,2}problem\w*"]),
]
