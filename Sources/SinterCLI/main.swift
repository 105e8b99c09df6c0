print("sinter")
